"""Training the 2x face upscaler (ESRGAN's recipe): a fidelity stage (L1), then a detailed stage (L1 + VGG16
perceptual + adversarial) that starts from it. Both stages write ``upscaler`` checkpoints holding the two
weight sets, so every checkpoint of the detailed stage ships as it is and blends between them.

    python -m gan_art train-upscaler --data train-200.zip --out runs/upscale-fidelity --stage fidelity
    python -m gan_art train-upscaler --data train-200.zip --out runs/upscale-detailed --stage detailed \\
        --init-from runs/upscale-fidelity/checkpoints/step-000040000

Targets are the training faces at 128 px (the sharpest ``sharpest_fraction`` of them: many photos are soft);
inputs are those faces brought to 64 px the ways small faces arrive (antialiased resizes of several kernels,
slight blur, sensor noise, JPEG). The hashed hold-out and validation faces are never trained on.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_art.checkpoints import WEIGHTS_FILES, read_config
from gan_art.config import from_dict, to_dict
from gan_art.data import load_images
from gan_art.errors import ConfigError
from gan_art.images import resize_batch, to_float, to_uint8
from gan_art.losses import ema_update, make_ema
from gan_art.metrics import psnr
from gan_art.models.upscaler import PatchDiscriminator, Upscaler, UpscalerConfig, UpscalerPair
from gan_art.nets.vgg import STYLE_LAYERS, load_vgg16, preprocess
from gan_art.precision import PrecisionChoice, choose
from gan_art.repair_training import is_holdout, is_validation
from gan_art.rundir import RunDir
from gan_art.train_state import TrainingState, autocast, run_steps

STAGES = ("fidelity", "detailed")
_RESAMPLERS = (Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BILINEAR, Image.Resampling.BOX)


@dataclass(frozen=True)
class UpscaleTrainConfig:
    """A training run of one stage of the face upscaler."""

    data: str = ""  # face images (folder or zip), ideally above 128 px (train-200.zip); hold-out skipped
    out: str = "runs/upscale"  # run directory (resumes from its newest checkpoint)
    stage: str = "fidelity"  # "fidelity" (L1 only) or "detailed" (adds perceptual and adversarial losses)
    init_from: str = ""  # detailed stage: the fidelity checkpoint it starts from and keeps as its faithful end
    model: UpscalerConfig | None = None  # network size (a dict of its fields as JSON); None = the defaults
    resolution: int = 128  # target faces are the whole face at this size, in pixels
    patch: int = 64  # side of the target crops trained on, in target pixels
    sharpest_fraction: float = 1.0  # keep this fraction of training faces, the sharpest (variance of Laplacian)
    steps: int = 40_000  # total optimiser steps
    batch_size: int = 32  # crops per step
    lr: float = 5e-4  # upscaler learning rate (Adam)
    lr_d: float = 2e-4  # discriminator learning rate (detailed stage)
    l1_weight: float = 1.0  # L1 to the target
    perceptual_weight: float = 0.3  # detailed stage: VGG16 relative feature L1 on relu1_1..relu4_1
    adversarial_weight: float = 0.01  # detailed stage: non-saturating loss of the patch discriminator
    ema_decay: float = 0.999  # per-step decay of the weight average that is shipped
    precision: str = "auto"  # autocast: "auto" (fastest measured on this machine), "fp32" or "bf16"
    seed: int = 0  # seeds weights, data order and degradations
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    metrics_every: int = 50  # steps between metrics.jsonl lines
    checkpoint_minutes: float = 5.0  # minutes between checkpoints (also written at the end and on stop)
    keep_checkpoints: int = 2  # keep the newest K checkpoints of a run

    def __post_init__(self) -> None:
        if not isinstance(self.model, UpscalerConfig):  # None or a dict from JSON / the command line
            object.__setattr__(self, "model", from_dict(UpscalerConfig, self.model or {}))
        if self.stage not in STAGES:
            raise ConfigError(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.stage == "detailed" and not self.init_from:
            raise ConfigError("the detailed stage starts from a fidelity checkpoint: give --init-from")
        scale = self.model.scale
        if self.patch % scale or self.patch > self.resolution or self.resolution % scale:
            raise ConfigError(f"patch ({self.patch}) and resolution ({self.resolution}) must be multiples of the "
                              f"scale ({scale}), patch <= resolution")
        if not 0 < self.sharpest_fraction <= 1:
            raise ConfigError(f"sharpest_fraction must be in (0, 1], got {self.sharpest_fraction}")


def sharpness(images: torch.Tensor) -> np.ndarray:
    """Variance of the Laplacian of each (N, 3, H, W) uint8 image's grey levels: high where there is fine detail."""
    grey = images.float().mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    return torch.cat([F.conv2d(part, kernel).flatten(1).var(1) for part in grey.split(512)]).numpy()


def degrade(face: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 -> (H/scale, W/scale, 3) uint8, shrunk one of the ways small faces arrive."""
    if rng.random() < 0.15:  # a slightly soft lens or an earlier resize
        face = cv2.GaussianBlur(face, (0, 0), rng.uniform(0.3, 1.0))
    size = (face.shape[1] // scale, face.shape[0] // scale)
    small = np.asarray(Image.fromarray(face).resize(size, _RESAMPLERS[rng.integers(len(_RESAMPLERS))]))
    if rng.random() < 0.2:  # sensor noise
        noise = rng.normal(0, rng.uniform(1, 4), small.shape)
        small = np.clip(small + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:  # a JPEG on the way
        buffer = io.BytesIO()
        Image.fromarray(small).save(buffer, format="JPEG", quality=int(rng.integers(60, 96)))
        small = np.asarray(Image.open(buffer).convert("RGB"))
    return small


class _UpscaleTrainer:
    def __init__(self, cfg: UpscaleTrainConfig, precision: str = "fp32") -> None:
        self.cfg = cfg
        self.precision = precision
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.net = Upscaler(cfg.model).to(memory_format=torch.channels_last)
        self.pair = UpscalerPair(cfg.model)
        self.detailed = cfg.stage == "detailed"
        if self.detailed:  # trains pair.detailed (the EMA); pair.fidelity stays the network it started from
            self.D = PatchDiscriminator().to(memory_format=torch.channels_last)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.99))
            self.vgg = load_vgg16()
            self.pair.detailed = make_ema(self.net)
        else:
            self.pair.fidelity = make_ema(self.net)
        self.ema = self.pair.detailed if self.detailed else self.pair.fidelity
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self.run = RunDir(cfg.out)
        modules = {"net": self.net, "pair": self.pair} | ({"D": self.D} if self.detailed else {})
        optimizers = {"opt": self.opt} | ({"opt_d": self.opt_d} if self.detailed else {})
        self.state = TrainingState(self.run, modules, optimizers, "pair", WEIGHTS_FILES["upscaler"])

    def load_data(self) -> None:
        cfg = self.cfg
        images, summary = load_images(cfg.data, cfg.resolution)
        training = np.array([not (is_holdout(n) or is_validation(n)) for n in summary.names])
        score = sharpness(images)
        threshold = np.quantile(score[training], 1 - cfg.sharpest_fraction)
        keep = training & (score >= threshold)
        self.images = images[torch.from_numpy(keep)].permute(0, 2, 3, 1).contiguous()  # (N, H, W, 3) uint8
        validation = torch.from_numpy(np.array([is_validation(n) for n in summary.names]))
        self.validation = images[validation][:64]
        self.validation_small = resize_batch(self.validation, cfg.resolution // cfg.model.scale)
        self.data_summary = {"source": Path(summary.source).name, "train_images": int(keep.sum()),
                             "held_out_images": int((~training).sum()), "sharpest_fraction": cfg.sharpest_fraction}

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(small crops, target crops) in [-1, 1]: random faces, mirrored half the time, degraded, cropped alike."""
        cfg, scale = self.cfg, self.cfg.model.scale
        small_patch = cfg.patch // scale
        inputs, targets = [], []
        for index in self.rng.integers(0, len(self.images), cfg.batch_size):
            face = self.images[index].numpy()
            if self.rng.random() < 0.5:
                face = np.ascontiguousarray(face[:, ::-1])
            small = degrade(face, scale, self.rng)
            y, x = self.rng.integers(0, small.shape[0] - small_patch + 1, 2)
            inputs.append(small[y:y + small_patch, x:x + small_patch])
            targets.append(face[y * scale:(y + small_patch) * scale, x * scale:(x + small_patch) * scale])
        to_tensor = lambda crops: to_float(torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2))  # noqa: E731
        return (to_tensor(inputs).contiguous(memory_format=torch.channels_last),
                to_tensor(targets).contiguous(memory_format=torch.channels_last))

    def perceptual(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        f, r = (self.vgg(preprocess((x + 1) / 2), STYLE_LAYERS) for x in (fake, real))
        # relative L1 per layer: raw VGG activations differ in scale by orders of magnitude between layers
        return sum(F.l1_loss(f[k], r[k].detach()) / r[k].detach().abs().mean().clamp_min(1e-6) for k in STYLE_LAYERS)

    def train_step(self) -> dict:
        cfg = self.cfg
        small, real = self.batch()
        values = {}
        if self.detailed:
            with autocast("cpu", self.precision):
                fake = self.net(small)
                d_real, d_fake = self.D(real), self.D(fake.detach())
                loss_d = F.softplus(-d_real.float()).mean() + F.softplus(d_fake.float()).mean()
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            with autocast("cpu", self.precision):
                l1 = F.l1_loss(fake.float(), real)
                perceptual = self.perceptual(fake, real)
                adversarial = F.softplus(-self.D(fake).float()).mean()
                loss = cfg.l1_weight * l1 + cfg.perceptual_weight * perceptual + cfg.adversarial_weight * adversarial
            values |= {"perceptual": perceptual, "adversarial": adversarial, "loss_d": loss_d,
                       "d_real": torch.sigmoid(d_real.float()).mean(), "d_fake": torch.sigmoid(d_fake.float()).mean()}
        else:
            with autocast("cpu", self.precision):
                fake = self.net(small)
            l1 = F.l1_loss(fake.float(), real)
            loss = cfg.l1_weight * l1
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        ema_update(self.ema, self.net, cfg.ema_decay)
        return {k: float(v.detach()) for k, v in (values | {"loss": loss, "l1": l1}).items()}

    @torch.no_grad()
    def validation_psnr(self) -> dict:
        """PSNR of the shipped (EMA) network and of Lanczos on validation faces shrunk with Lanczos."""
        if not len(self.validation):
            return {}
        target = self.validation
        small = to_float(self.validation_small)
        ours = to_uint8(self.ema(small))
        lanczos = resize_batch(self.validation_small, self.cfg.resolution)
        return {"val_psnr": round(psnr(ours, target), 3), "val_psnr_lanczos": round(psnr(lanczos, target), 3)}

    def save(self, metrics: dict) -> Path:
        if not self.detailed:  # a fidelity checkpoint has no detailed network yet: both ends are the same
            self.pair.detailed.load_state_dict(self.pair.fidelity.state_dict())
        metrics = metrics | self.validation_psnr()
        self.run.append_metrics(metrics)
        config = {"kind": "upscaler", "model": to_dict(self.cfg.model), "train": to_dict(self.cfg),
                  "stage": self.cfg.stage, "precision": self.precision, "step": self.step, "metrics": metrics,
                  "data": self.data_summary, "license": "trained on UTKFace: non-commercial research use only"}
        return self.state.save(self.step, config, self.cfg.keep_checkpoints)

    def resume(self) -> None:
        config = self.state.restore()
        if config is not None:
            self.step = config["step"]
            self.rng = np.random.default_rng([self.cfg.seed, self.step])
        elif self.detailed:  # a fresh detailed stage: both the trained net and the EMA start as the fidelity net
            start = read_config(Path(self.cfg.init_from), "upscaler")
            if start["model"] != to_dict(self.cfg.model):
                raise ConfigError(f"{self.cfg.init_from} is an upscaler of another size ({start['model']})")
            from gan_art.upscale import load_upscaler_pair  # the serving side's loader, with its checks

            fidelity = load_upscaler_pair(self.cfg.init_from).fidelity.state_dict()
            for module in (self.net, self.pair.fidelity, self.pair.detailed):
                module.load_state_dict(fidelity)


def choose_precision(cfg: UpscaleTrainConfig) -> PrecisionChoice:
    """``cfg.precision``, or for ``auto`` the fastest precision measured on this machine (cached)."""

    def make_step(precision: str, batch_size: int):
        trainer = _UpscaleTrainer(replace(cfg, batch_size=batch_size), precision)
        trainer.images = torch.randint(0, 256, (batch_size, cfg.resolution, cfg.resolution, 3), dtype=torch.uint8)
        return trainer.train_step

    key = f"upscaler-{cfg.stage}|{json.dumps(to_dict(cfg.model), sort_keys=True)}|{cfg.patch}px|batch={cfg.batch_size}"
    return choose(cfg.precision, key, make_step, cfg.batch_size, torch.device("cpu"))


def train_upscaler(cfg: UpscaleTrainConfig, log=print, should_stop=lambda: False) -> Path | None:
    """Train (or resume) one stage of the upscaler until ``cfg.steps`` or ``should_stop``; returns the last
    checkpoint."""
    choice = choose_precision(cfg)
    log(f"precision {choice.reason}")
    trainer = _UpscaleTrainer(cfg, choice.precision)
    trainer.run.path.mkdir(parents=True, exist_ok=True)
    trainer.resume()
    trainer.load_data()
    log(f"{trainer.data_summary['train_images']} training faces; resuming at step {trainer.step}")
    path = run_steps(trainer, cfg.steps, cfg.batch_size, cfg.metrics_every, cfg.checkpoint_minutes, log, should_stop)
    return path or trainer.run.latest_checkpoint(WEIGHTS_FILES["upscaler"])
