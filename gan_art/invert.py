"""A photo's face in a generator's latent space: the per-layer latents ws (w+) whose image looks like it.

An optimisation of ws for pixel likeness plus a VGG16 perceptual likeness, started from the best of a few
seeds (or a given start). A regulariser pulls the layers of ws towards their mean, so the result stays
close to the w a single latent would give: that is what keeps the sliders (directions found in w)
editing it as they edit generated faces. Progress is streamed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_art.explore import sample_ws
from gan_art.images import to_float, to_uint8
from gan_art.nets.vgg import STYLE_LAYERS, preprocess


@dataclass
class InversionStep:
    """A snapshot of the optimisation: ``ws`` (1, num_ws, w_dim) and its image (R, R, 3) uint8."""

    step: int
    ws: torch.Tensor
    image: np.ndarray
    loss: float


class Likeness(nn.Module):
    """How unlike a target image generated images are: pixel MSE + ``perceptual`` x VGG16 feature distance."""

    def __init__(self, vgg: nn.Module, target: torch.Tensor, perceptual: float = 0.5) -> None:
        super().__init__()
        self.vgg, self.perceptual = vgg, perceptual
        self.side = max(64, target.shape[-1])  # VGG at the image's own size (4x cheaper at 64 px than 128)
        self.target = target  # (1, 3, R, R) in [-1, 1]
        with torch.no_grad():
            self.target_features = self.features(target)

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (images + 1) / 2
        if x.shape[-1] != self.side:
            x = F.interpolate(x, size=self.side, mode="bilinear", align_corners=False)
        return self.vgg(preprocess(x), STYLE_LAYERS)

    def perceptual_distance(self, images: torch.Tensor) -> torch.Tensor:
        """(B,) VGG16 distances: relative L1 per layer (raw activations differ in scale by orders of magnitude
        between layers), summed over relu1_1..relu4_1."""
        feats = self.features(images)
        return sum((feats[k] - self.target_features[k]).abs().mean((1, 2, 3))
                   / self.target_features[k].abs().mean().clamp_min(1e-6) for k in STYLE_LAYERS)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B,) distances of images (B, 3, R, R) in [-1, 1] to the target."""
        pixel = (images - self.target).square().mean((1, 2, 3))
        return pixel + self.perceptual * self.perceptual_distance(images)


@torch.no_grad()
def best_seed_start(generator: nn.Module, likeness: Likeness, candidates: int = 64, seed: int = 0,
                    batch_size: int = 16) -> torch.Tensor:
    """ws (1, num_ws, w_dim) of the candidate seed whose image is most like the target."""
    ws = sample_ws(generator, candidates, seed)
    losses = torch.cat([likeness(generator.synthesis(chunk)) for chunk in ws.split(batch_size)])
    return ws[losses.argmin()][None].clone()


def invert(generator: nn.Module, vgg: nn.Module, target: np.ndarray, steps: int = 100,
           start: torch.Tensor | None = None, lr: float = 0.05, layer_spread: float = 0.1, progress_every: int = 10,
           candidates: int = 64) -> Iterator[InversionStep]:
    """Optimise ws for ``target`` (R, R, 3) uint8 at the generator's resolution; yields snapshots every
    ``progress_every`` steps and at the end (closing the iterator stops at once).

    ``layer_spread`` weighs the pull of each layer's w towards the mean w over layers (0 = free w+).
    """
    target_x = to_float(torch.from_numpy(np.array(target)).permute(2, 0, 1)[None])
    likeness = Likeness(vgg, target_x)
    ws = (start if start is not None else best_seed_start(generator, likeness, candidates)).clone()
    ws.requires_grad_(True)
    optimizer = torch.optim.Adam([ws], lr=lr, betas=(0.9, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    with torch.no_grad():
        start_loss = float(likeness(generator.synthesis(ws)))
    yield InversionStep(0, ws.detach().clone(), _image(generator, ws), start_loss)
    for step in range(1, steps + 1):
        image = generator.synthesis(ws)
        spread = (ws - ws.mean(1, keepdim=True)).square().mean()
        loss = likeness(image).mean() + layer_spread * spread
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % progress_every == 0 or step == steps:
            yield InversionStep(step, ws.detach().clone(), _image(generator, ws), float(loss.detach()))


@torch.no_grad()
def _image(generator: nn.Module, ws: torch.Tensor) -> np.ndarray:
    return to_uint8(generator.synthesis(ws.detach()))[0].permute(1, 2, 0).numpy()
