"""Generators and discriminators, one family per file, registered by architecture name.

Every generator exposes the same latent interface so exploration code is architecture-agnostic:
``mapping(z, truncation_psi) -> ws`` of shape (B, num_ws, w_dim) and ``synthesis(ws) -> images``
in [-1, 1]; ``forward(z)`` is both. Architectures without a mapping network use w = z.
"""
from __future__ import annotations

from torch import nn

from gan_art.models import dcgan, stylegan
from gan_art.models.config import ARCHITECTURES, ModelConfig

REGISTRY = {
    "stylegan": (stylegan.Generator, stylegan.Discriminator),
    "dcgan": (dcgan.Generator, dcgan.Discriminator),
}
assert tuple(REGISTRY) == ARCHITECTURES, "register every architecture ModelConfig accepts"


def build_generator(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised generator for ``cfg``."""
    return REGISTRY[cfg.arch][0](cfg)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised discriminator for ``cfg``; returns one logit per image."""
    return REGISTRY[cfg.arch][1](cfg)
