"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) applied to real and fake images alike.

Each function maps (B, C, H, W) images in [-1, 1] to augmented images and draws its randomness from
an explicit ``torch.Generator``, so runs are reproducible without touching global RNG state.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def _rand(x: torch.Tensor, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, generator=generator, device=generator.device).to(x.device, x.dtype)


def color(x: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (0..2x) and contrast (0.5..1.5x), each range scaled by
    ``strength`` around no change."""
    x = x + (_rand(x, generator, 1, 1, 1) - 0.5) * strength
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (1 + (_rand(x, generator, 1, 1, 1) * 2 - 1) * strength) + mean
    mean = x.mean([1, 2, 3], keepdim=True)
    return (x - mean) * (1 + (_rand(x, generator, 1, 1, 1) - 0.5) * strength) + mean


def mild_color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`color` at half its ranges."""
    return color(x, generator, 0.5)


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift by up to ``ratio`` of the size, zero padding, as one gather per image."""
    B, _, H, W = x.shape
    shift_h, shift_w = int(H * ratio + 0.5), int(W * ratio + 0.5)
    dy = (_rand(x, generator, 1, 1) * (2 * shift_h + 1)).long().clamp(max=2 * shift_h) - shift_h
    dx = (_rand(x, generator, 1, 1) * (2 * shift_w + 1)).long().clamp(max=2 * shift_w) - shift_w
    rows = (torch.arange(H, device=x.device)[None, :, None] + dy + 1).clamp(0, H + 1)  # (B, H, 1)
    cols = (torch.arange(W, device=x.device)[None, None, :] + dx + 1).clamp(0, W + 1)  # (B, 1, W)
    padded = F.pad(x, [1, 1, 1, 1])
    index = (rows * (W + 2) + cols).reshape(B, 1, H * W).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, index).reshape_as(x)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of side ``ratio`` * size per image."""
    B, _, H, W = x.shape
    size_h, size_w = int(H * ratio + 0.5), int(W * ratio + 0.5)
    y0 = (_rand(x, generator, 1, 1) * (H + 1 - size_h % 2)).long() - size_h // 2  # (B, 1, 1)
    x0 = (_rand(x, generator, 1, 1) * (W + 1 - size_w % 2)).long() - size_w // 2
    ys = torch.arange(H, device=x.device)[None, :, None]
    xs = torch.arange(W, device=x.device)[None, None, :]
    inside = (ys >= y0) & (ys < y0 + size_h) & (xs >= x0) & (xs < x0 + size_w)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def half_color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`color` at full ranges on a random half of the images; the other half keep their own tones, so a
    discriminator still sees how dark and how contrasted the real images are (issue 24: full colour on every image
    hid the dark masses of a sketch set from the feature discriminator, and the generated sketches came out pale)."""
    keep = (_rand(x, generator, 1, 1, 1) < 0.5).to(x.dtype)
    return keep * x + (1 - keep) * color(x, generator)


POLICIES: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "color": color, "mild_color": mild_color, "half_color": half_color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator, color_strength: float = 1.0
                 ) -> torch.Tensor:
    """Apply the comma-separated ``policy`` in order, its ``color`` at ``color_strength``; an empty policy returns
    ``x``."""
    for name in filter(None, policy.split(",")):
        x = color(x, generator, color_strength) if name == "color" else POLICIES[name](x, generator)
    return x
