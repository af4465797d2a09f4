"""A small StyleGAN2-style generator and residual discriminator (Karras et al. 2020).

Differences from the paper, chosen for CPU speed: bilinear resampling instead of blurred
transposed convolutions, and "non-fused" modulation (scale activations, plain conv, rescale)
so every convolution is an ordinary batched conv2d that oneDNN/cuDNN run well in channels_last.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gan_art.models.config import ModelConfig

SQRT2 = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    # the sqrt(2) gain keeps activation variance constant across layers
    return F.leaky_relu(x, 0.2) * SQRT2


def _channels(cfg: ModelConfig, res: int) -> int:
    return min(cfg.max_channels, cfg.width * cfg.resolution // res)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: weights stored N(0, 1), scaled at run time."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mult: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mult)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init) / lr_mult))
        self.weight_gain = lr_mult / math.sqrt(in_dim)
        self.lr_mult = lr_mult
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mult)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """Conv with equalised learning rate; ``down`` average-pools 2x first (4x cheaper than after)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, down: bool = False,
                 bias: bool = True, activate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.down = down
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.weight.shape[-1] // 2)
        return lrelu(x) if self.activate else x


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, num_ws, w_dim), with the running mean w_avg used for truncation."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, num_ws: int,
                 lr_mult: float = 0.01, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(*[EqualLinear(a, b, lr_mult=lr_mult, activate=True)
                                      for a, b in zip(dims, dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.num_ws = num_ws
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)  # pixel norm
        w = self.layers(z)
        if self.training:
            self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation_psi != 1.0:
            w = self.w_avg.to(w.dtype).lerp(w, truncation_psi)
        return w[:, None, :].expand(-1, self.num_ws, -1)


class ModulatedConv2d(nn.Module):
    """Style-modulated conv (StyleGAN2): per-image input scaling by an affine of w, demodulation."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, kernel: int = 3, up: bool = False,
                 demodulate: bool = True, noise_res: int = 0) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.weight_gain = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.up = up
        self.demodulate = demodulate
        self.use_noise = noise_res > 0
        if self.use_noise:
            self.noise_strength = nn.Parameter(torch.zeros([]))
            # fixed noise for evaluation, so one (seed, settings) always gives the same image
            self.register_buffer("noise_const", torch.randn(1, 1, noise_res, noise_res))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (B, C_in)
        weight = self.weight * self.weight_gain
        x = x * styles[:, :, None, None]
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight.to(x.dtype), padding=weight.shape[-1] // 2)
        if self.demodulate:
            # per-image output scale that restores unit variance, without materialising per-image weights
            dcoefs = torch.rsqrt(styles.float().square() @ weight.square().sum([2, 3]).t() + 1e-8)  # (B, C_out)
            x = x * dcoefs.to(x.dtype)[:, :, None, None]
        if self.use_noise:
            noise = torch.randn_like(x[:, :1]) if self.training else self.noise_const.to(x.dtype)
            x = x + noise * self.noise_strength.to(x.dtype)
        x = x + self.bias.to(x.dtype)[None, :, None, None]
        return lrelu(x) if self.demodulate else x


class SynthesisBlock(nn.Module):
    """One resolution: (up-conv), conv, and an RGB output added to the upsampled skip image."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, res: int) -> None:
        super().__init__()
        self.conv0 = ModulatedConv2d(in_ch, out_ch, w_dim, up=True, noise_res=res) if res > 4 else None
        self.conv1 = ModulatedConv2d(out_ch, out_ch, w_dim, noise_res=res)
        self.to_rgb = ModulatedConv2d(out_ch, 3, w_dim, kernel=1, demodulate=False)
        self.num_ws = 3 if self.conv0 is not None else 2

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, ws: torch.Tensor):
        # ws: (B, self.num_ws, w_dim); the last one also styles the next block's first conv
        i = 0
        if self.conv0 is not None:
            x = self.conv0(x, ws[:, 0])
            i = 1
        x = self.conv1(x, ws[:, i])
        rgb = self.to_rgb(x, ws[:, i + 1])
        if img is not None:
            rgb = rgb + F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
        return x, rgb


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, 3, R, R), roughly in [-1, 1]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(_channels(cfg, 4), 4, 4))
        blocks, res = [], 4
        while res <= cfg.resolution:
            in_ch = _channels(cfg, max(res // 2, 4))
            blocks.append(SynthesisBlock(in_ch, _channels(cfg, res), cfg.w_dim, res))
            res *= 2
        self.blocks = nn.ModuleList(blocks)
        # consecutive blocks share one w (the RGB output and the next first conv)
        self.num_ws = sum(b.num_ws for b in blocks) - (len(blocks) - 1)

    def forward(self, ws: torch.Tensor, with_features: bool = False):
        """The image, or with ``with_features`` (image, [each block's feature maps, coarse to fine])."""
        x = self.const[None].expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        img, i, features = None, 0, []
        for block in self.blocks:
            x, img = block(x, img, ws[:, i:i + block.num_ws])
            i += block.num_ws - 1
            features.append(x)
        return (img, features) if with_features else img


class Generator(nn.Module):
    """Style-based generator: ``mapping`` z -> w, then ``synthesis`` w -> image."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.resolution = cfg.z_dim, cfg.w_dim, cfg.resolution
        self.synthesis = SynthesisNetwork(cfg)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers, self.num_ws)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, with_features: bool = False):
        return self.synthesis(self.mapping(z, truncation_psi), with_features)


class DiscriminatorBlock(nn.Module):
    """Residual block: two 3x3 convs (the second downsamples) beside a 1x1 downsampling skip."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, down=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, down=True, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * (1 / SQRT2)


class Discriminator(nn.Module):
    """image (B, 3, R, R) -> logit (B,); residual blocks, minibatch std-dev, two FC layers."""

    def __init__(self, cfg: ModelConfig, mbstd_group: int = 4) -> None:
        super().__init__()
        self.from_rgb = EqualConv2d(3, _channels(cfg, cfg.resolution), 1)
        blocks, res = [], cfg.resolution
        while res > 4:
            blocks.append(DiscriminatorBlock(_channels(cfg, res), _channels(cfg, res // 2)))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        ch = _channels(cfg, 4)
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(ch + 1, ch, 3)
        self.fc = EqualLinear(ch * 16, ch, activate=True)
        self.out = EqualLinear(ch, 1)

    def minibatch_std(self, x: torch.Tensor) -> torch.Tensor:
        # one extra channel: feature std-dev across a small group, so D can see a lack of variety
        B, C, H, W = x.shape
        G = min(self.mbstd_group, B)
        if B % G:
            G = 1
        y = x.float().reshape(G, B // G, C, H, W)
        y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean([1, 2, 3])  # (B // G,)
        y = y.reshape(1, B // G, 1, 1, 1).expand(G, -1, 1, H, W).reshape(B, 1, H, W)
        return torch.cat([x, y.to(x.dtype)], 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.from_rgb(images))
        x = self.conv(self.minibatch_std(x))
        return self.out(self.fc(x.flatten(1))).flatten()
