"""Generators and discriminators, one family per file, registered by architecture name.

Every generator exposes the same latent interface so exploration code is architecture-agnostic:
``mapping(z, truncation_psi) -> ws`` of shape (B, num_ws, w_dim) and ``synthesis(ws) -> images``
in [-1, 1]; ``forward(z)`` is both. Architectures without a mapping network use w = z.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from gan_art.models import dcgan, stylegan

if TYPE_CHECKING:
    from gan_art.config import ModelConfig

ARCHITECTURES = {
    "stylegan": (stylegan.Generator, stylegan.Discriminator),
    "dcgan": (dcgan.Generator, dcgan.Discriminator),
}


def build_generator(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised generator for ``cfg``."""
    return ARCHITECTURES[cfg.arch][0](cfg)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised discriminator for ``cfg``; returns one logit per image."""
    return ARCHITECTURES[cfg.arch][1](cfg)
