"""Image-quality figures for training and benchmarks.

* ``swd``: multi-scale sliced Wasserstein distance between 7x7 patches of Laplacian pyramid levels
  (Karras et al. 2018, ProGAN), reported x1e3 per level as in that paper. Lower is better.
* ``frechet_distance`` of two feature sets; on ImageNet EfficientNet-Lite0 features it is "FD-EffNet"
  (:mod:`gan_art.evaluate`): the FID formula on a different, offline-available network, NOT
  comparable to published FID numbers.
* ``psnr`` and ``ssim`` of two images.

Pure functions: tensors in, numbers out; no models are loaded here.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gan_art.images import to_float

_BLUR = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    C = x.shape[1]
    k = (_BLUR[:, None] * _BLUR[None, :]).to(x)[None, None].expand(C, 1, 5, 5)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="reflect"), k, groups=C)


def laplacian_pyramid(x: torch.Tensor, min_size: int = 16) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down to ``min_size`` (the last level is low-pass)."""
    levels = []
    while x.shape[-1] > min_size:
        down = _blur(x)[:, :, ::2, ::2]
        up = F.interpolate(down, scale_factor=2.0, mode="bilinear", align_corners=False)
        levels.append(x - up)
        x = down
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, generator: torch.Generator, size: int = 7) -> torch.Tensor:
    B, C, H, W = level.shape
    ys = torch.randint(0, H - size + 1, (B, per_image), generator=generator)
    xs = torch.randint(0, W - size + 1, (B, per_image), generator=generator)
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None]  # (B, P, size, 1)
    cols = (xs[..., None] + offsets)[..., None, :]  # (B, P, 1, size)
    batch = torch.arange(B)[:, None, None, None]
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # (B, P, size, size, C)
    return patches.reshape(B * per_image, size, size, C)


def _normalize(descriptors: torch.Tensor) -> torch.Tensor:
    # per set and colour channel, over all patches and positions, as in ProGAN's reference code
    mean = descriptors.mean((0, 1, 2))
    std = descriptors.std((0, 1, 2)).clamp_min(1e-8)
    return ((descriptors - mean) / std).flatten(1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator,
                       repeats: int = 4, per_repeat: int = 128) -> float:
    """Mean over random unit directions of the 1-D Wasserstein distance of the projections."""
    total = 0.0
    for _ in range(repeats):
        directions = torch.randn(a.shape[1], per_repeat, generator=generator)
        directions /= directions.norm(dim=0, keepdim=True)
        pa, _ = (a @ directions).sort(0)
        pb, _ = (b @ directions).sort(0)
        total += (pa - pb).abs().mean().item()
    return total / repeats


def swd(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, patches_per_image: int = 128) -> dict:
    """Multi-scale SWD x1e3 between uint8 image sets (N, 3, H, W) of equal N; lower is better."""
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same shape")
    generator = torch.Generator().manual_seed(seed)
    real_levels = laplacian_pyramid(to_float(real))
    fake_levels = laplacian_pyramid(to_float(fake))
    result = {}
    for real_level, fake_level in zip(real_levels, fake_levels):
        a = _normalize(_patches(real_level, patches_per_image, generator))
        b = _normalize(_patches(fake_level, patches_per_image, generator))
        result[f"swd{real_level.shape[-1]}"] = 1e3 * sliced_wasserstein(a, b, generator)
    result["swd_avg"] = sum(result.values()) / len(result)
    return {k: round(v, 3) for k, v in result.items()}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio (dB) of two uint8 images of the same shape."""
    mse = float((a.double() - b.double()).square().mean())
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Structural similarity (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5) of uint8 (3, H, W) images."""
    x, y = a.double()[None], b.double()[None]
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-coords.square() / (2 * 1.5 ** 2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2).expand(x.shape[1], 1, 11, 11)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=t.shape[1])

    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y = blur(x * x) - mu_x ** 2, blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return float(value.mean())


def _covariance(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = features.double()
    mu = x.mean(0)
    centered = x - mu
    return mu, centered.T @ centered / (x.shape[0] - 1)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), without scipy (symmetric eigen-decompositions)."""
    mu_a, s_a = _covariance(features_a)
    mu_b, s_b = _covariance(features_b)
    eigval, eigvec = torch.linalg.eigh(s_a)
    sqrt_a = eigvec @ torch.diag(eigval.clamp_min(0).sqrt()) @ eigvec.T
    # Tr((S_a S_b)^1/2) = Tr((S_a^1/2 S_b S_a^1/2)^1/2), and the latter matrix is symmetric PSD
    trace_sqrt = torch.linalg.eigvalsh(sqrt_a @ s_b @ sqrt_a).clamp_min(0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + torch.trace(s_a) + torch.trace(s_b) - 2 * trace_sqrt
    return float(value)


def feature_distance(features_a: dict[str, torch.Tensor], features_b: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-image distance of two images' feature maps (LPIPS's form without its learned weights): features unit-
    normalised over channels at each position, squared differences averaged over positions, summed over layers."""
    total = 0.0
    for name, a in features_a.items():
        a = F.normalize(a.float(), dim=1)
        b = F.normalize(features_b[name].float(), dim=1)
        total = total + (a - b).square().sum(1).mean((1, 2))
    return total
