"""Training the Repair tab's networks on faces: the inpainter (LaMa-style GAN) and the damage segmenter.

The held-out faces (``is_holdout``: a fixed 5% of file names, by hash) are never trained on; the
benchmarks evaluate on them. Runs resume from their newest checkpoint; the run directory layout is
the one of :mod:`gan_art.rundir` (metrics.jsonl, checkpoints/step-N).

    python -m gan_art train-repair --model inpainter --data faces-128.zip --out runs/inpaint
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from gan_art.checkpoints import WEIGHTS_FILES, load_network
from gan_art.config import from_dict, to_dict
from gan_art.damage import apply_damage, random_mask
from gan_art.data import load_images
from gan_art.errors import ConfigError
from gan_art.images import to_float
from gan_art.models.inpaint import InpainterConfig, InpaintGenerator, PatchDiscriminator
from gan_art.models.segmenter import DamageSegmenter, SegmenterConfig
from gan_art.nets.vgg import STYLE_LAYERS, load_vgg16, preprocess
from gan_art.precision import PrecisionChoice, choose
from gan_art.rundir import RunDir
from gan_art.train_state import TrainingState, autocast, run_steps


def _bucket(name: str) -> int:
    return int(hashlib.sha1(Path(name).name.encode()).hexdigest(), 16) % 20


def is_holdout(name: str) -> bool:
    """The fixed 5% of images kept out of training for evaluation (by file name, so it never drifts)."""
    return _bucket(name) == 0


def is_validation(name: str) -> bool:
    """Another fixed 5%, also kept out of training, for tuning choices (so the hold-out is only ever measured)."""
    return _bucket(name) == 1


def drawn_from(names: list[str], in_split: Callable[[str], bool], count: int, seed: int = 0) -> list[int]:
    """Indices of ``count`` of the ``names`` in a split (e.g. ``is_holdout``), drawn at random: not the first
    ones, since UTKFace's file names start with the age."""
    indices = [i for i, name in enumerate(names) if in_split(name)]
    return [indices[i] for i in np.random.default_rng(seed).permutation(len(indices))[:count]]


@dataclass(frozen=True)
class RepairTrainConfig:
    """A training run of one Repair network."""

    kind: str = "inpainter"  # which network: "inpainter" or "segmenter"
    data: str = ""  # face images (folder or zip); the held-out 5% is skipped
    out: str = "runs/inpaint"  # run directory (resumes from its newest checkpoint)
    resolution: int = 128  # training crops are the whole face at this size, in pixels
    steps: int = 50_000  # total optimiser steps
    batch_size: int = 8  # images per step
    lr: float = 1e-3  # network learning rate (Adam)
    lr_d: float = 1e-4  # discriminator learning rate (inpainter only)
    model: InpainterConfig | SegmenterConfig | None = None  # network size (its config dataclass, or a dict of
    # its fields as JSON, e.g. {"width": 24, "blocks": 5}); None = the kind's defaults
    l1_weight: float = 1.0  # inpainter: L1 inside the hole
    perceptual_weight: float = 0.2  # inpainter: VGG16 relative feature L1 on relu1_1..relu4_1
    adversarial_weight: float = 0.02  # inpainter: non-saturating loss of the SN-PatchGAN
    feature_matching_weight: float = 0.2  # inpainter: L1 between D features of real and filled images
    max_zoom: float = 1.0  # faces are enlarged up to this factor and cropped back to `resolution`, so that the
    # network meets face details at the scales the app runs it at (larger photos, holes filled at full size)
    init_from: str = ""  # a checkpoint folder of the same kind and size whose network weights start the run
    precision: str = "auto"  # autocast: "auto" (fastest measured on this machine), "fp32" or "bf16"
    seed: int = 0  # seeds weights, data order and masks
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    metrics_every: int = 50  # steps between metrics.jsonl lines
    checkpoint_minutes: float = 10.0  # minutes between checkpoints (also written at the end)
    keep_checkpoints: int = 2  # keep the newest K checkpoints of a run

    def __post_init__(self) -> None:
        if self.kind not in NETWORKS:
            raise ConfigError(f"kind must be one of {sorted(NETWORKS)}, got {self.kind!r}")
        config_class = NETWORKS[self.kind][0]
        if not isinstance(self.model, config_class):  # None or a dict from JSON / the command line
            object.__setattr__(self, "model", from_dict(config_class, self.model or {}))


# kind -> (network config, network, discriminator or None)
NETWORKS = {"inpainter": (InpainterConfig, InpaintGenerator, PatchDiscriminator),
            "segmenter": (SegmenterConfig, DamageSegmenter, None)}


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits.float())
    return 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)


def iou(prediction: np.ndarray, target: np.ndarray) -> float:
    union = (prediction | target).sum()
    return 1.0 if union == 0 else float((prediction & target).sum() / union)


class _RepairTrainer:
    def __init__(self, cfg: RepairTrainConfig, precision: str = "fp32") -> None:
        self.cfg = cfg
        self.precision = precision
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        _, network, discriminator = NETWORKS[cfg.kind]
        self.net = network(cfg.model).to(memory_format=torch.channels_last)
        self.D = discriminator() if discriminator else None
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.99)) if self.D else None
        self.vgg = load_vgg16() if cfg.kind == "inpainter" else None
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self.run = RunDir(cfg.out)
        self.state = TrainingState(self.run, {"net": self.net} | ({"D": self.D} if self.D else {}),
                                   {"opt": self.opt} | ({"opt_d": self.opt_d} if self.opt_d else {}), "net",
                                   WEIGHTS_FILES[cfg.kind])

    def autocast(self):
        return autocast("cpu", self.precision)

    def train_step(self) -> dict:
        return self.inpainter_step() if self.cfg.kind == "inpainter" else self.segmenter_step()

    def load_data(self) -> None:
        images, summary = load_images(self.cfg.data, self.cfg.resolution)
        keep = torch.tensor([not (is_holdout(n) or is_validation(n)) for n in summary.names])
        self.images = images[keep]
        self.data_summary = {"source": summary.source, "train_images": int(keep.sum()),
                             "held_out_images": int((~keep).sum())}

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(clean images in [-1, 1], masks) — holes for the inpainter, synthetic damage for the segmenter."""
        index = self.rng.integers(0, len(self.images), self.cfg.batch_size)
        clean = self.images[torch.from_numpy(index)].permute(0, 2, 3, 1).numpy()
        if self.cfg.max_zoom > 1:
            clean = np.stack([self.zoom(img) for img in clean])
        clean = np.where(self.rng.random((len(index), 1, 1, 1)) < 0.5, clean[:, :, ::-1], clean)
        shape = clean.shape[1:3]
        if self.cfg.kind == "inpainter":
            masks = np.stack([random_mask(shape, self.rng) for _ in index])
            inputs = clean
        else:
            pairs = [apply_damage(np.ascontiguousarray(img), self.rng) if self.rng.random() < 0.9
                     else (np.ascontiguousarray(img), np.zeros(shape, bool)) for img in clean]
            inputs = np.stack([p[0] for p in pairs])
            masks = np.stack([p[1] for p in pairs])
        x = to_float(torch.from_numpy(np.ascontiguousarray(inputs)).permute(0, 3, 1, 2))
        return x.contiguous(memory_format=torch.channels_last), torch.from_numpy(masks)[:, None].float()

    def zoom(self, image: np.ndarray) -> np.ndarray:
        """Enlarge by a log-uniform factor in [1, max_zoom] and crop back to the original size at random."""
        size = image.shape[0]
        factor = float(np.exp(self.rng.uniform(0, np.log(self.cfg.max_zoom))))
        big = cv2.resize(image, (round(size * factor),) * 2, interpolation=cv2.INTER_CUBIC)
        y, x = self.rng.integers(0, big.shape[0] - size + 1, 2)
        return big[y:y + size, x:x + size]

    def perceptual(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # half resolution keeps VGG's cost below the generator's on a CPU
        size = [s // 2 for s in fake.shape[-2:]]
        f, r = (self.vgg(preprocess(F.interpolate((x + 1) / 2, size=size, mode="bilinear", antialias=True)),
                         STYLE_LAYERS) for x in (fake, real))
        # relative L1 per layer: raw VGG activations differ in scale by orders of magnitude between layers
        return sum(F.l1_loss(f[k], r[k].detach()) / r[k].detach().abs().mean().clamp_min(1e-6) for k in STYLE_LAYERS)

    def inpainter_step(self) -> dict:
        cfg = self.cfg
        real, mask = self.batch()
        with self.autocast():
            fake = self.net(real, mask)
            d_real, _ = self.D(real, mask)
            d_fake, _ = self.D(fake.detach(), mask)
            loss_d = F.softplus(-d_real.float()).mean() + F.softplus(d_fake.float()).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        with self.autocast():
            logits, fake_features = self.D(fake, mask)
            with torch.no_grad():
                _, real_features = self.D(real, mask)
            l1 = ((fake.float() - real).abs() * mask).sum() / (3 * mask.sum()).clamp_min(1)
            perceptual = self.perceptual(fake, real)
            adversarial = F.softplus(-logits.float()).mean()
            matching = sum(F.l1_loss(a.float(), b.float()) for a, b in zip(fake_features, real_features))
            loss = (cfg.l1_weight * l1 + cfg.perceptual_weight * perceptual + cfg.adversarial_weight * adversarial
                    + cfg.feature_matching_weight * matching)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        values = {"loss": loss, "l1": l1, "perceptual": perceptual, "adversarial": adversarial,
                  "feature_matching": matching, "loss_d": loss_d}
        return {k: float(v.detach()) for k, v in values.items()}

    def segmenter_step(self) -> dict:
        image, mask = self.batch()
        with self.autocast():
            logits = self.net(image)
        bce = F.binary_cross_entropy_with_logits(logits.float(), mask, pos_weight=torch.tensor(3.0))
        loss = bce + dice_loss(logits, mask)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            batch_iou = iou(logits.float().numpy() > 0, mask.numpy() > 0.5)
        return {"loss": loss.item(), "bce": bce.item(), "iou": batch_iou}

    def save(self, metrics: dict) -> Path:
        config = {"kind": self.cfg.kind, "model": to_dict(self.cfg.model), "train": to_dict(self.cfg),
                  "precision": self.precision, "step": self.step, "metrics": metrics, "data": self.data_summary,
                  "license": "trained on UTKFace: non-commercial research use only"}
        return self.state.save(self.step, config, self.cfg.keep_checkpoints)

    def resume(self) -> None:
        config = self.state.restore()
        if config is not None:
            self.step = config["step"]
            self.rng = np.random.default_rng([self.cfg.seed, self.step])
        elif self.cfg.init_from:  # a fresh run warm-started from another checkpoint's network
            network = load_network(self.cfg.init_from, self.cfg.kind, NETWORKS[self.cfg.kind][1])
            self.net.load_state_dict(network.state_dict())


def choose_precision(cfg: RepairTrainConfig) -> PrecisionChoice:
    """``cfg.precision``, or for ``auto`` the fastest precision measured on this machine (cached)."""

    def make_step(precision: str, batch_size: int):
        trainer = _RepairTrainer(replace(cfg, batch_size=batch_size), precision)
        trainer.images = torch.randint(0, 256, (batch_size, 3, cfg.resolution, cfg.resolution), dtype=torch.uint8)
        return trainer.train_step

    key = f"{cfg.kind}|{json.dumps(to_dict(cfg.model), sort_keys=True)}|{cfg.resolution}px|batch={cfg.batch_size}"
    return choose(cfg.precision, key, make_step, cfg.batch_size, torch.device("cpu"))


def train_repair(cfg: RepairTrainConfig, log=print) -> Path:
    """Train (or resume) a Repair network until ``cfg.steps``; returns the last checkpoint."""
    choice = choose_precision(cfg)
    log(f"precision {choice.reason}")
    trainer = _RepairTrainer(cfg, choice.precision)
    trainer.run.path.mkdir(parents=True, exist_ok=True)
    trainer.resume()
    trainer.load_data()
    path = run_steps(trainer, cfg.steps, cfg.batch_size, cfg.metrics_every, cfg.checkpoint_minutes, log)
    return path or trainer.run.latest_checkpoint(WEIGHTS_FILES[cfg.kind])
