"""GAN losses and regularisers as small pure functions (logits in, scalar tensors out).

The non-saturating logistic loss of Goodfellow et al. is the same function as the classic DCGAN
binary cross-entropy (real -> 1, fake -> 0, G wants fake -> 1); it is written with
``binary_cross_entropy_with_logits`` because ``sigmoid`` + ``BCELoss`` saturates in low precision.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator BCE: mean softplus(-D(x)) + mean softplus(D(G(z)))."""
    real = F.binary_cross_entropy_with_logits(real_logits.float(), torch.ones_like(real_logits, dtype=torch.float))
    fake = F.binary_cross_entropy_with_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float))
    return real + fake


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: mean softplus(-D(G(z)))."""
    return F.binary_cross_entropy_with_logits(fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float))


def coarse_l1(images: torch.Tensor, targets: torch.Tensor, size: int = 16) -> torch.Tensor:
    """Mean absolute difference of two batches of images averaged down to ``size`` px: their layout and palette,
    not the detail a small set cannot pin down."""
    factor = max(1, images.shape[-1] // size)
    return (F.avg_pool2d(images, factor) - F.avg_pool2d(targets, factor)).abs().mean()


def r1_penalty(real_images: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over images of ||dD(x)/dx||^2; ``real_images`` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().square().sum([1, 2, 3]).mean()


def distance_consistency(features: list[torch.Tensor], parent_features: list[torch.Tensor]) -> torch.Tensor:
    """Cross-domain distance consistency (Ojha et al. 2021): for each image of a batch, the softmax over the
    other images of its cosine similarities to them, in the parent's features against in the fine-tune's (KL,
    summed over the feature maps given), so the images stay as unlike one another as the parent's were."""
    count = features[0].shape[0]
    if count < 2:
        return features[0].new_zeros((), dtype=torch.float)
    others = ~torch.eye(count, dtype=torch.bool, device=features[0].device)

    def log_neighbours(maps: torch.Tensor) -> torch.Tensor:
        unit = F.normalize(maps.float().flatten(1), dim=1)
        return (unit @ unit.T)[others].view(count, count - 1).log_softmax(1)

    return sum(F.kl_div(log_neighbours(now), log_neighbours(before), reduction="batchmean", log_target=True)
               for now, before in zip(features, parent_features))


def ema_beta(batch_size: int, images_seen: int, ema_kimg: float, ema_rampup: float) -> float:
    """EMA decay per step for a half-life of ``ema_kimg`` thousand images, ramped up early in training."""
    if ema_kimg <= 0:
        return 0.0
    ema_images = ema_kimg * 1000
    if ema_rampup > 0:
        ema_images = min(ema_images, images_seen * ema_rampup)
    return 0.5 ** (batch_size / max(ema_images, 1e-8))


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` in eval mode, to hold the moving average of its weights."""
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """ema <- lerp(model, ema, beta) for parameters; buffers (w_avg, noise, BN stats) are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
