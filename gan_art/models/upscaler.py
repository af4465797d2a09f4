"""A compact 2x face super-resolution network (ESRGAN's recipe at CPU size) and its patch discriminator.

The network predicts the detail missing from a bilinear enlargement: residual blocks at the input
resolution, then a pixel shuffle, so nearly all the work happens on the small image. A shipped
upscaler holds two weight sets of this one architecture, the fidelity (L1) network and the
detailed (adversarial) one; :func:`blend_weights` interpolates them (ESRGAN's network interpolation).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class UpscalerConfig:
    """Size of the upscaler; saved as the "model" section of its checkpoints."""

    width: int = 32  # feature channels at the input resolution
    blocks: int = 6  # residual blocks (two 3x3 convolutions each)
    scale: int = 2  # enlargement factor of one pass

    def __post_init__(self) -> None:
        if self.width < 1 or self.blocks < 0 or self.scale not in (2, 3, 4):
            raise ValueError(f"invalid upscaler size {self}")


class _ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class Upscaler(nn.Module):
    """image (B, 3, H, W) in [-1, 1] -> (B, 3, sH, sW), the bilinear enlargement plus predicted detail."""

    def __init__(self, cfg: UpscalerConfig = UpscalerConfig()) -> None:
        super().__init__()
        self.scale = cfg.scale
        self.head = nn.Conv2d(3, cfg.width, 3, padding=1)
        self.body = nn.Sequential(*(_ResidualBlock(cfg.width) for _ in range(cfg.blocks)))
        self.tail = nn.Conv2d(cfg.width, 3 * cfg.scale**2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as the bilinear enlargement
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.body(F.leaky_relu(features, 0.2))
        detail = F.pixel_shuffle(self.tail(F.leaky_relu(features, 0.2)), self.scale)
        return F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False) + detail


class PatchDiscriminator(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> a map of real/fake logits, one per ~30 px patch (spectral norm)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        chs = [3, width, width * 2, width * 4, width * 4]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chs, chs[1:])):
            layers += [sn(nn.Conv2d(a, b, 4 if i < 3 else 3, stride=2 if i < 3 else 1, padding=1)),
                       nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.out = sn(nn.Conv2d(chs[-1], 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


class UpscalerPair(nn.Module):
    """What an upscaler checkpoint ships: the fidelity (L1) and the detailed (adversarial) weights of one net."""

    def __init__(self, cfg: UpscalerConfig = UpscalerConfig()) -> None:
        super().__init__()
        self.fidelity = Upscaler(cfg)
        self.detailed = Upscaler(cfg)


def blend_weights(fidelity: dict[str, torch.Tensor], detailed: dict[str, torch.Tensor],
                  detail: float) -> dict[str, torch.Tensor]:
    """Network interpolation: (1 - detail) * fidelity + detail * detailed, tensor by tensor."""
    return {k: torch.lerp(v, detailed[k].to(v.dtype), detail) for k, v in fidelity.items()}
