"""An encoder from a face image to the generator's w: the fast first guess that inversion then refines.

Trained on faces the generator itself makes, whose w is known (an image -> w regression): no dataset is
needed, so any checkpoint, a run just trained in the Train tab included, can get one with
``python -m gan_art train-encoder --checkpoint PATH``. Given real faces too (``--photos``), a second stage
trains it to make G(E(photo)) look like the photo, still anchored to the generated faces' known w. It
predicts a single w (not w+): the sliders' directions live in w, so its guess is as editable as a generated
face. Saved beside the checkpoint as
``encoder.safetensors`` + ``encoder.json`` (its config and how it was trained).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_art.checkpoints import read_tensors, save_tensors
from gan_art.config import save_json
from gan_art.errors import CheckpointError
from gan_art.explore import sample_ws
from gan_art.images import to_float, to_uint8
from gan_art.invert import Likeness
from gan_art.metrics import psnr

ENCODER_FILE = "encoder.safetensors"
ENCODER_META = "encoder.json"


@dataclass
class EncoderConfig:
    resolution: int = 64  # the generator's image size
    w_dim: int = 256
    width: int = 32  # channels of the first block; doubled at every halving of the image
    max_channels: int = 256


class Encoder(nn.Module):
    """(B, 3, R, R) images in [-1, 1] -> (B, w_dim) w, predicted as an offset from the generator's mean w."""

    def __init__(self, config: EncoderConfig, w_avg: torch.Tensor) -> None:
        super().__init__()
        self.config = config
        layers, channels = [], 3
        for i in range(int(math.log2(config.resolution // 4))):
            out = min(config.width * 2**i, config.max_channels)
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                       nn.Conv2d(out, out, 3, padding=1), nn.LeakyReLU(0.2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, 512), nn.LeakyReLU(0.2),
                                  nn.Linear(512, config.w_dim))
        self.register_buffer("w_avg", w_avg.detach().clone().float())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.w_avg + self.head(self.features(images))


@dataclass
class EncoderTraining:
    minutes: float = 20.0  # wall-clock budget
    batch_size: int = 64
    lr: float = 1e-3
    pool: int = 8192  # generated (image, w) pairs kept; a quarter replaced by fresh ones every epoch
    seed: int = 0
    photo_minutes: float = 0.0  # then, on real faces (when given): how like the photo G(E(photo)) looks
    photo_batch_size: int = 16
    photo_lr: float = 2e-4


Progress = Callable[[str, int, float], None]  # (what the loss is, step, loss)


def train_encoder(generator: nn.Module, resolution: int, settings: EncoderTraining = EncoderTraining(),
                  progress: Progress | None = None, start: Encoder | None = None, photos: torch.Tensor | None = None,
                  held_photos: torch.Tensor | None = None, vgg: nn.Module | None = None) -> tuple[Encoder, dict]:
    """Train an encoder (or go on training ``start``) for ``generator`` on its own faces (psi = 1), then, given
    ``photos`` (N, 3, R, R) uint8 aligned like the training faces and the ``vgg`` of the perceptual loss, on real
    faces (``held_photos``, never trained on, measure that stage); returns it and what training measured."""
    torch.manual_seed(settings.seed)
    w_dim = generator.w_avg.shape[-1]
    encoder = start.train() if start is not None else Encoder(EncoderConfig(resolution=resolution, w_dim=w_dim),
                                                                generator.w_avg)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=settings.lr, betas=(0.9, 0.99))
    w_scale = float(sample_ws(generator, 1024, seed=10**6)[:, 0].std(0).mean())  # loss in units of w's spread

    def fresh(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        ws = sample_ws(generator, count, seed)
        with torch.no_grad():
            images = torch.cat([generator.synthesis(chunk).clamp(-1, 1) for chunk in ws.split(256)])
        return images, ws[:, 0]

    held_images, held_w = fresh(512, seed=10**6 + 1)  # never trained on: how well it generalises
    images, ws = fresh(settings.pool, seed=settings.seed)
    deadline, step, epoch = time.monotonic() + settings.minutes * 60, 0, 0
    while time.monotonic() < deadline:
        for batch in torch.randperm(len(images)).split(settings.batch_size):
            loss = F.mse_loss(encoder(images[batch]), ws[batch]) / w_scale**2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if progress is not None and step % 100 == 0:
                progress("w error", step, float(loss.detach()))
            if time.monotonic() >= deadline:
                break
        epoch += 1
        replace = torch.randperm(len(images))[: settings.pool // 4]
        images[replace], ws[replace] = fresh(len(replace), seed=settings.seed + epoch)
    @torch.no_grad()
    def held_out_w_error() -> float:
        encoder.eval()
        error = float(F.mse_loss(encoder(held_images), held_w)) / w_scale**2
        encoder.train()
        return round(error, 4)

    measured = {"steps": step, "held_out_w_error": held_out_w_error()}
    if photos is not None and settings.photo_minutes > 0:
        measured |= _tune_on_photos(encoder, generator, vgg, (photos, held_photos), (images, ws, w_scale), settings,
                                    progress)
        measured["held_out_w_error_after_photos"] = held_out_w_error()
    return encoder.eval(), {**measured, "training": asdict(settings)}


def _tune_on_photos(encoder: Encoder, generator: nn.Module, vgg: nn.Module,
                    photos: tuple[torch.Tensor, torch.Tensor], generated: tuple[torch.Tensor, torch.Tensor, float],
                    settings: EncoderTraining,
                    progress: Progress | None) -> dict:
    """Real faces have no known w: the loss is how unlike the photo its reconstruction looks (pixel + VGG), plus
    the w regression on generated faces, which keeps predictions where the generator's own w live (editable)."""
    images, ws, w_scale = generated
    train, held = photos
    optimizer = torch.optim.Adam(encoder.parameters(), lr=settings.photo_lr, betas=(0.9, 0.99))

    def render(x: torch.Tensor) -> torch.Tensor:
        return generator.synthesis(encoder(x)[:, None].expand(-1, generator.num_ws, -1))

    @torch.no_grad()
    def held_psnr() -> float:
        encoder.eval()
        out = torch.cat([render(to_float(chunk)) for chunk in held.split(64)])
        encoder.train()
        return round(float(np.mean([psnr(to_uint8(a), b) for a, b in zip(out, held)])), 2)

    before, step = held_psnr(), 0
    deadline = time.monotonic() + settings.photo_minutes * 60
    while time.monotonic() < deadline:
        target = to_float(train[torch.randint(len(train), (settings.photo_batch_size,))])
        photo_loss = Likeness(vgg, target)(render(target)).mean()
        pick = torch.randint(len(images), (settings.batch_size,))
        w_loss = F.mse_loss(encoder(images[pick]), ws[pick]) / w_scale**2
        optimizer.zero_grad(set_to_none=True)
        (photo_loss + w_loss).backward()
        optimizer.step()
        step += 1
        if progress is not None and step % 20 == 0:
            progress("photo loss", step, float(photo_loss.detach()))
    return {"photo_steps": step, "photos": len(train),
            "held_out_photo_psnr": {"before": before, "after": held_psnr()}}


def save_encoder(folder: str | Path, encoder: Encoder, measured: dict) -> None:
    folder = Path(folder)
    tmp = folder / (ENCODER_FILE + ".tmp")
    # float16 halves the file; w_avg stays float32 (it is the exact centre predictions are offsets from)
    save_tensors({k: v.detach().to(torch.float32 if k == "w_avg" else torch.float16).contiguous()
                  for k, v in encoder.state_dict().items()}, tmp)
    tmp.replace(folder / ENCODER_FILE)
    save_json(folder / ENCODER_META, {"config": asdict(encoder.config), **measured})


@torch.no_grad()
def encode_face(encoder: Encoder, face: np.ndarray, num_ws: int) -> torch.Tensor:
    """ws (1, num_ws, w_dim) for a face (R, R, 3) uint8: the encoder's w on every layer."""
    image = to_float(torch.from_numpy(np.array(face)).permute(2, 0, 1)[None]).to(encoder.w_avg.device)
    return encoder(image)[:, None].repeat(1, num_ws, 1)


def read_encoder_meta(folder: str | Path) -> dict:
    """What ``encoder.json`` beside a checkpoint says: its config and how it was trained."""
    try:
        meta = json.loads((Path(folder) / ENCODER_META).read_text())
        EncoderConfig(**meta["config"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{Path(folder) / ENCODER_META} is damaged: {exc}") from None
    return meta


def load_encoder(folder: str | Path) -> Encoder | None:
    """The encoder saved beside a checkpoint, or None when it has none."""
    folder = Path(folder)
    if not (folder / ENCODER_META).is_file():
        return None
    config = EncoderConfig(**read_encoder_meta(folder)["config"])
    tensors = read_tensors(folder / ENCODER_FILE)
    try:
        encoder = Encoder(config, tensors["w_avg"])
        encoder.load_state_dict({k: v.float() for k, v in tensors.items()})
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{folder / ENCODER_FILE} does not match {ENCODER_META}: {exc}") from None
    return encoder.eval()
