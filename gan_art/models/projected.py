"""A second discriminator that judges frozen ImageNet features (after Projected GAN, Sauer et al. 2021, and
Vision-aided GAN, Kumari et al. 2022).

Small trainable heads read EfficientNet-Lite0's activations at three scales. Those features tell strokes,
edges and textures apart from the first step, where a discriminator learning from 100 images has to discover
them; on the sketch look that is what a 10-minute fine-tune lacks (issue 24's note has the figures).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gan_art.nets.efficientnet_lite import INPUT_MEAN, INPUT_STD, EfficientNetLite0, load_efficientnet_lite0

MIN_INPUT = 64  # px: smaller images are upsampled to this (64 px faces: 16, 8 and 4 px maps at the taps; 128 px
# was no better for its cost in issue 24's search)
TAPS = {2: 24, 4: 40, 10: 112}  # Lite0 block index -> its channels: the ends of the 24, 40 and 112 channel stages
HEAD_WIDTH = 64


class FeatureDiscriminator(nn.Module):
    """Images in [-1, 1] -> one patch-logit map per tap. Only ``heads`` train (and are saved); ``features`` stays
    the pretrained network, in eval mode whatever mode this module is put in."""

    def __init__(self, features: EfficientNetLite0 | None = None) -> None:
        super().__init__()
        self.features = features if features is not None else load_efficientnet_lite0()
        self.heads = nn.ModuleList(nn.Sequential(
            nn.Conv2d(channels, HEAD_WIDTH, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(HEAD_WIDTH, HEAD_WIDTH, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(HEAD_WIDTH, 1, 1)) for channels in TAPS.values())

    def train(self, mode: bool = True) -> FeatureDiscriminator:
        super().train(mode)
        self.features.eval()  # its batch-norm statistics are ImageNet's, never this batch's
        return self

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.shape[-1] < MIN_INPUT:
            images = F.interpolate(images, size=(MIN_INPUT, MIN_INPUT), mode="bilinear", align_corners=False)
        net = self.features
        h = F.relu6(net._bn0(net._conv_stem(((images + 1) * 127.5 - INPUT_MEAN) / INPUT_STD)))
        maps = []
        for index, block in enumerate(net._blocks[:max(TAPS) + 1]):
            h = block(h)
            if index in TAPS:
                maps.append(h)
        return [head(h).flatten(1) for head, h in zip(self.heads, maps)]
