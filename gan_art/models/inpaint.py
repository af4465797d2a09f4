"""Inpainting networks: a LaMa-style generator with Fourier convolutions, and an SN-PatchGAN discriminator.

Suvorov et al. 2022 (LaMa): fast Fourier convolutions give every layer an image-wide receptive field,
which large holes need; Yu et al. 2019 (DeepFill v2): a spectrally normalised patch discriminator.
Both are fully convolutional, so they run at any size that is a multiple of 8.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(True))


class FourierUnit(nn.Module):
    """A 1x1 convolution applied to the image's 2-D spectrum: global mixing in one layer."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1, bias=False)
        self.norm = nn.BatchNorm2d(2 * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        spectrum = torch.fft.rfft2(x.float(), norm="ortho")  # (B, C, H, W // 2 + 1) complex
        y = F.relu(self.norm(self.conv(torch.cat([spectrum.real, spectrum.imag], 1))))
        real, imag = y.float().chunk(2, 1)  # complex tensors need fp32 halves (bf16 under autocast)
        return torch.fft.irfft2(torch.complex(real, imag), s=(H, W), norm="ortho").to(x.dtype)


class FFC(nn.Module):
    """Fast Fourier convolution: local (3x3) and global (spectral) branches that exchange information."""

    def __init__(self, channels: int, global_ratio: float = 0.75) -> None:
        super().__init__()
        self.global_ch = int(channels * global_ratio)
        self.local_ch = channels - self.global_ch
        lc, gc = self.local_ch, self.global_ch
        self.local_to_local = nn.Conv2d(lc, lc, 3, padding=1, bias=False)
        self.global_to_local = nn.Conv2d(gc, lc, 3, padding=1, bias=False)
        self.local_to_global = nn.Conv2d(lc, gc, 3, padding=1, bias=False)
        half = gc // 2
        self.spectral_in = _conv_bn_relu(gc, half, 1)
        self.fourier = FourierUnit(half)
        self.spectral_out = nn.Conv2d(half, gc, 1, bias=False)
        self.norm_local, self.norm_global = nn.BatchNorm2d(lc), nn.BatchNorm2d(gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local, glob = x[:, :self.local_ch], x[:, self.local_ch:]
        s = self.spectral_in(glob)
        new_local = self.local_to_local(local) + self.global_to_local(glob)
        new_global = self.local_to_global(local) + self.spectral_out(s + self.fourier(s))
        return torch.cat([F.relu(self.norm_local(new_local)), F.relu(self.norm_global(new_global))], 1)


class FFCResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ffc1, self.ffc2 = FFC(channels), FFC(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.ffc2(self.ffc1(x))


@dataclass(frozen=True)
class InpainterConfig:
    """Size of the inpainting network; saved as the "model" section of its checkpoints."""

    width: int = 32  # channels at full resolution (doubling at each downsampling)
    blocks: int = 6  # Fourier-convolution residual blocks at the lowest resolution
    downsamples: int = 3  # stride-2 convolutions before the blocks (inputs are padded to 2**downsamples)


class InpaintGenerator(nn.Module):
    """(image in [-1, 1] with holes, mask 1 = hole) -> image with the holes filled; known pixels kept."""

    def __init__(self, cfg: InpainterConfig = InpainterConfig()) -> None:
        super().__init__()
        width, downsamples = cfg.width, cfg.downsamples
        layers: list[nn.Module] = [_conv_bn_relu(4, width, 7)]
        ch = width
        for _ in range(downsamples):
            layers.append(_conv_bn_relu(ch, ch * 2, 3, 2))
            ch *= 2
        layers += [FFCResBlock(ch) for _ in range(cfg.blocks)]
        for _ in range(downsamples):
            layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), _conv_bn_relu(ch, ch // 2)]
            ch //= 2
        layers += [nn.Conv2d(ch, 3, 7, padding=3), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.multiple = 2 ** downsamples

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        masked = image * (1 - mask)
        out = self.net(torch.cat([masked, mask], 1))
        return out * mask + image * (1 - mask)


class PatchDiscriminator(nn.Module):
    """SN-PatchGAN: a map of real/fake logits, one per overlapping patch; ``features`` for feature matching."""

    def __init__(self, width: int = 32, layers: int = 4) -> None:
        super().__init__()
        blocks, ch = [], 4
        for i in range(layers):
            out = width * 2 ** min(i, 3)
            blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(ch, out, 4, 2 if i < layers - 1 else 1, 1)),
                                        nn.LeakyReLU(0.2, True)))
            ch = out
        self.blocks = nn.ModuleList(blocks)
        self.out = spectral_norm(nn.Conv2d(ch, 1, 3, padding=1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = torch.cat([image, mask], 1), []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.out(x), features
