"""A small U-Net that finds damage (scratches, cracks, folds, dust, stains, missing blocks) in a photo."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


@dataclass(frozen=True)
class SegmenterConfig:
    """Size of the damage segmenter; saved as the "model" section of its checkpoints."""

    width: int = 16  # channels at full resolution (doubling at each of the three poolings)


class DamageSegmenter(nn.Module):
    """image (B, 3, H, W) in [-1, 1], H and W multiples of 8 -> damage logits (B, 1, H, W)."""

    multiple = 8

    def __init__(self, cfg: SegmenterConfig = SegmenterConfig()) -> None:
        super().__init__()
        width = cfg.width
        chs = [width, width * 2, width * 4, width * 8]
        self.down = nn.ModuleList([_double_conv(3, chs[0])] + [_double_conv(a, b) for a, b in zip(chs, chs[1:])])
        self.up = nn.ModuleList([_double_conv(b + a, a) for a, b in zip(chs[:-1], chs[1:])][::-1])
        self.out = nn.Conv2d(chs[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False),
                                 skip], 1))
        return self.out(x)
