"""A small CNN that scores faces for labelled attributes (used to find labelled latent directions)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def _block(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, 2, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True),
                         nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True))


@dataclass(frozen=True)
class ClassifierConfig:
    """Size of an attribute classifier; saved as the "model" section of its checkpoint."""

    num_outputs: int = 2  # scores per image (gender logit, age / 10 years)
    resolution: int = 64  # input side in pixels; other sizes are resized to it
    width: int = 24  # channels of the first convolution (x8 at the end)


class AttributeClassifier(nn.Module):
    """image (B, 3, H, W) in [-1, 1] -> (B, num_outputs) scores; inputs are resized to ``resolution``."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()) -> None:
        super().__init__()
        width, num_outputs = cfg.width, cfg.num_outputs
        self.resolution = cfg.resolution
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            _block(width, width * 2), _block(width * 2, width * 4), _block(width * 4, width * 8),
            _block(width * 8, width * 8))
        self.head = nn.Linear(width * 8, num_outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.resolution:
            images = F.interpolate(images, size=(self.resolution, self.resolution), mode="bilinear",
                                   antialias=True, align_corners=False)
        return self.head(self.features(images).mean([2, 3]))
