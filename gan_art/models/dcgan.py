"""DCGAN (Radford et al. 2016) as in pytorch/examples: transposed convs, batch norm, no mapping."""
from __future__ import annotations

import torch
from torch import nn

from gan_art.models.config import ModelConfig


def _channels(cfg: ModelConfig, res: int) -> int:
    # ngf at resolution/2, doubling at every halving: 64 px -> 512, 256, 128, 64 (ngf=64)
    return cfg.width * cfg.resolution // (2 * res)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, 3, R, R) in [-1, 1]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws = 1
        self.resolution = cfg.resolution
        self.register_buffer("w_avg", torch.zeros(cfg.z_dim))
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(cfg.z_dim, _channels(cfg, 4), 4, 1, 0, bias=False),
            nn.BatchNorm2d(_channels(cfg, 4)), nn.ReLU(True)]
        res = 4
        while res * 2 < cfg.resolution:
            layers += [nn.ConvTranspose2d(_channels(cfg, res), _channels(cfg, res * 2), 4, 2, 1, bias=False),
                       nn.BatchNorm2d(_channels(cfg, res * 2)), nn.ReLU(True)]
            res *= 2
        layers += [nn.ConvTranspose2d(_channels(cfg, res), 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(_init_weights)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        w = self.w_avg.lerp(z, truncation_psi)
        return w[:, None, :]  # (B, 1, z_dim)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        return self.main(ws[:, -1, :, None, None])

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi))


class Discriminator(nn.Module):
    """image (B, 3, R, R) -> logit (B,); the sigmoid lives in the BCE-with-logits loss."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        res = cfg.resolution // 2
        layers: list[nn.Module] = [nn.Conv2d(3, _channels(cfg, res), 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        while res > 4:
            layers += [nn.Conv2d(_channels(cfg, res), _channels(cfg, res // 2), 4, 2, 1, bias=False),
                       nn.BatchNorm2d(_channels(cfg, res // 2)), nn.LeakyReLU(0.2, inplace=True)]
            res //= 2
        layers += [nn.Conv2d(_channels(cfg, 4), 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images).flatten()
