"""Quality figures of a checkpoint against a dataset: multi-scale SWD and FD-EffNet (``python -m gan_art eval``).

FD-EffNet is the Fréchet distance formula on ImageNet EfficientNet-Lite0 features, because no Inception
weights are available offline: it is NOT the published FID and is not comparable to FID numbers in papers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.explore import sample_images, seed_latent
from gan_art.metrics import frechet_distance, swd
from gan_art.nets.efficientnet_lite import load_efficientnet_lite0, preprocess

SEED_STRIDE = 1_000_003  # a prime: the latents of evaluation seed s are seeds s*STRIDE + i, disjoint across s


@torch.no_grad()
def effnet_features(images: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """(N, 1280) ImageNet EfficientNet-Lite0 pooled features of uint8 images (N, 3, H, W)."""
    net = load_efficientnet_lite0()
    return torch.cat([net.features(preprocess(chunk)) for chunk in images.split(batch_size)])


@dataclass
class RealReference:
    """Dataset images and their EfficientNet features, computed once for comparing several checkpoints."""

    images: torch.Tensor
    features: torch.Tensor


def real_reference(data: str | Path, resolution: int, num_images: int = 5000, seed: int = 0) -> RealReference:
    real, _ = load_images(data, resolution)
    real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:num_images]]
    return RealReference(real, effnet_features(real))


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path | RealReference, num_images: int = 5000,
                        seed: int = 0) -> dict:
    """SWD and FD-EffNet of a checkpoint's samples (psi = 1) against ``num_images`` dataset images."""
    loaded = load_generator(checkpoint)
    reference = data if isinstance(data, RealReference) else real_reference(data, loaded.model.resolution,
                                                                             num_images, seed)
    real = reference.images
    z = torch.cat([seed_latent(seed * SEED_STRIDE + i, loaded.model.z_dim) for i in range(len(real))])
    fake = sample_images(loaded.generator, z)
    return {"checkpoint": str(checkpoint), "checkpoint_id": loaded.id, "arch": loaded.model.arch,
            "resolution": loaded.model.resolution, "step": loaded.config.get("step"),
            "cpu_seconds": loaded.config.get("cpu_seconds"), "num_images": len(real), **swd(real, fake, seed),
            "fd_effnet": round(frechet_distance(reference.features, effnet_features(fake)), 3),
            "note": "fd_effnet is a Frechet distance on ImageNet EfficientNet-Lite0 features, not FID"}
