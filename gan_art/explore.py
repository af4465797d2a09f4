"""Latent-space math: seeds, truncation, style mixing, directions and interpolation."""
from __future__ import annotations

import torch
from torch import nn

from gan_art.data import to_uint8


def seed_latent(seed: int, z_dim: int) -> torch.Tensor:
    """The z (1, z_dim) for ``seed``; the same on every machine (CPU Philox-free Mersenne generator)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, z_dim, generator=generator)


def seed_ws(generator: nn.Module, seed: int, truncation_psi: float = 1.0) -> torch.Tensor:
    """Per-layer latents ws (1, num_ws, w_dim) for ``seed``."""
    device = next(generator.parameters()).device
    with torch.no_grad():
        return generator.mapping(seed_latent(seed, generator.z_dim).to(device), truncation_psi)


@torch.no_grad()
def synthesize(generator: nn.Module, ws: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, R, R) images for ws (B, num_ws, w_dim)."""
    return to_uint8(generator.synthesis(ws)).cpu()


def generate_seeds(generator: nn.Module, seeds: list[int], truncation_psi: float = 1.0) -> torch.Tensor:
    """uint8 (N, 3, R, R) images, one per seed; each image depends only on its own seed."""
    return torch.cat([synthesize(generator, seed_ws(generator, seed, truncation_psi)) for seed in seeds])


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part[1:]:
            start, end = part.split("-", 1) if not part.startswith("-") else (part, part)
            seeds.extend(range(int(start), int(end) + 1))
        else:
            seeds.append(int(part))
    if not seeds or any(s < 0 or s >= 2**32 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers below 2**32 like '0-63' or '1,5,9', got {text!r}")
    return seeds
