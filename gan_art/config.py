"""Frozen, validated configuration dataclasses; every run and checkpoint saves its resolved config."""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gan_art.augment import POLICIES
from gan_art.errors import ConfigError
from gan_art.models.config import ModelConfig

T = TypeVar("T")


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, model, optimisation and bookkeeping."""

    data: str = ""  # image folder or zip archive of images
    out: str = "runs/run"  # run directory: status, metrics.jsonl, sample grids, checkpoints
    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int = 10_000  # total optimiser steps (one D step + one G step each)
    max_minutes: float = 0.0  # also finish after this many minutes of training in this process; 0 = no limit
    batch_size: int = 32  # images per step, summed over all processes
    lr_g: float = 0.002  # generator Adam learning rate
    lr_d: float = 0.002  # discriminator Adam learning rate
    beta1: float = 0.0  # Adam beta1
    beta2: float = 0.99  # Adam beta2
    mirror: bool = True  # randomly flip real images left-right (doubles the data for faces)
    r1_gamma: float = 0.05  # R1 penalty weight on real images; 0 disables
    r1_interval: int = 16  # apply R1 every this many steps (lazy regularisation)
    augment: str = "color,translation,cutout"  # DiffAugment policy, comma separated; "" disables
    ada_target: float = 0.0  # adapt the strength of the policy's "color" (0 to 1, starting at 1) to hold ADA's
    # overfitting measure r_t near this target (Karras et al. 2020 use 0.6): weaker while the discriminator does
    # not overfit, as colour shifts also hide the look's own tones from it; 0 keeps full strength
    ada_kimg: float = 2.0  # with ada_target: thousands of images for the colour strength to go from 1 to 0
    ema_kimg: float = 10.0  # half-life of the generator EMA, in thousands of images; 0 disables
    ema_rampup: float = 0.05  # EMA half-life is at most this fraction of images seen so far
    init_from: str = ""  # a checkpoint folder (with its training state) whose G, D and EMA start this run at step 0,
    # with fresh optimisers: transfer from a trained model; "" trains from scratch
    freeze_d: int = 0  # with init_from: keep the discriminator's first N blocks (the image side) as the parent's
    # (FreezeD); 0 trains all of it
    freeze_g: int = 0  # with init_from: keep the generator's mapping, constant input and the convolutions of its
    # first N synthesis blocks (the coarse layout) as the parent's, their RGB outputs still training (FreezeG);
    # 0 trains all of it
    anchor: float = 0.0  # with init_from: after every generator step, move its trained weights this fraction of
    # the way back to the parent's (L2-SP in its decoupled form, as Li et al. 2020 hold a few-shot fine-tune near
    # its parent): a long fine-tune to a small set drifts less from the parent's layout; 0 = off
    distance_consistency: float = 0.0  # with init_from: weight of a loss that keeps how alike the generator's
    # images are to one another (in its trained blocks' features) as it was in the parent (Ojha et al.'s
    # cross-domain correspondence): a fine-tune to a small set otherwise makes its images alike and typical of
    # the set; the KL of a softmax over cosine similarities is small, hence weights near 1000; 0 = off
    reconstruction: float = 0.0  # with init_from: weight of an L1 loss at 16 px between training images and the
    # generator's images at the latents the parent's encoder gives them: the adversarial losses of a small set
    # leave its coarse layout and palette loose; 0 = off
    reconstruction_pairs: int = 4  # training images a step for it
    feature_d: float = 0.0  # weight of a second discriminator on frozen ImageNet features (EfficientNet-Lite0,
    # after Projected GAN): a sharper signal from a small set of a new look, for about a quarter more time per step
    # on a CPU; 0 = off
    feature_d_augment: str = ""  # the feature discriminator's own DiffAugment policy; "" shows it D's augmented
    # images
    precision: str = "auto"  # forward-pass autocast: "auto" (fastest measured on this machine), "fp32", "bf16", "fp16"
    channels_last: bool = True  # NHWC memory layout (faster convolutions on most back ends)
    compile: bool = False  # wrap the models in torch.compile
    device: str = "auto"  # "auto" (cuda when present), "cpu" or "cuda[:N]"
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    seed: int = 0  # seeds weights, data order, augmentation and the fixed sample latents
    sample_every: int = 500  # steps between fixed-latent sample grids
    sample_seconds: float = 0.0  # also write a grid when this many seconds passed since the last; 0 = off
    sample_grid: int = 8  # the sample grid is sample_grid x sample_grid images
    checkpoint_every: int = 1000  # steps between checkpoints (also written at the end and on stop)
    checkpoint_minutes: float = 10.0  # also checkpoint when this much wall time passed since the last
    keep_checkpoints: int = 3  # keep the newest K checkpoints of a run
    metrics_every: int = 50  # steps between metrics.jsonl lines
    quality_every: int = 0  # steps between quality scores (SWD vs 1024 training images) in metrics.jsonl; 0 = off
    max_images: int = 0  # use at most this many dataset images; 0 uses all
    data_license: str = ""  # licence of the training images, recorded in every checkpoint

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):  # from JSON
            object.__setattr__(self, "model", ModelConfig(**self.model))
        positive = ("steps", "batch_size", "r1_interval", "sample_every", "sample_grid",
                    "checkpoint_every", "keep_checkpoints", "metrics_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ConfigError("learning rates must be positive")
        if self.freeze_d < 0 or (self.freeze_d and not self.init_from):
            raise ConfigError("freeze_d needs init_from (a trained discriminator to keep) and must be >= 0")
        if self.freeze_g < 0 or (self.freeze_g and not self.init_from):
            raise ConfigError("freeze_g needs init_from (a trained generator to keep) and must be >= 0")
        if not 0 <= self.anchor < 1 or (self.anchor and not self.init_from):
            raise ConfigError("anchor needs init_from (a trained generator to hold near) and must be in [0, 1)")
        if self.distance_consistency < 0 or (self.distance_consistency and not self.init_from):
            raise ConfigError("distance_consistency needs init_from (a trained generator to compare with) and must "
                              "be >= 0")
        if self.reconstruction < 0 or (self.reconstruction and not self.init_from) or self.reconstruction_pairs < 1:
            raise ConfigError("reconstruction needs init_from (a trained model with an encoder) and must be >= 0, "
                              "with reconstruction_pairs >= 1")
        if self.ada_target < 0 or self.ada_target >= 1 or self.ada_kimg <= 0:
            raise ConfigError(f"ada_target must be in [0, 1) and ada_kimg > 0, got {self.ada_target}, {self.ada_kimg}")
        if self.feature_d < 0:
            raise ConfigError(f"feature_d is a loss weight (>= 0), got {self.feature_d}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        unknown = set(filter(None, f"{self.augment},{self.feature_d_augment}".split(","))) - set(POLICIES)
        if unknown:
            raise ConfigError(f"unknown augmentation {sorted(unknown)}; choose from {sorted(POLICIES)}")


def dcgan_config(**overrides: Any) -> TrainConfig:
    """The classic DCGAN recipe (Radford et al. 2016 / pytorch/examples): BCE, Adam 2e-4, beta1 0.5."""
    model = ModelConfig(arch="dcgan", resolution=64, z_dim=100, w_dim=100, width=64)
    defaults = dict(model=model, batch_size=128, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999,
                    r1_gamma=0.0, mirror=False, augment="", ema_kimg=0.0)
    defaults.update(overrides)
    return TrainConfig(**defaults)


def field_help(cls: type) -> dict[str, str]:
    """Each field's trailing ``# comment`` in the class source (continued on comment-only lines below it):
    the one place a config field is documented, read by the CLI's --help."""
    comments: dict[str, str] = {}
    current = None
    for line in inspect.getsource(cls).splitlines():
        field_line = re.match(r"\s+(\w+): [^#]*#\s?(.*)$", line)
        continuation = re.match(r"\s+#\s?(.*)$", line)
        if field_line:
            current = field_line.group(1)
            comments[current] = field_line.group(2).strip()
        elif continuation and current:
            comments[current] += " " + continuation.group(1).strip()
        else:
            current = None
    return comments


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def from_dict(cls: type[T], values: dict) -> T:
    """Build a config from a dict, rejecting unknown keys with a clear message."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields {sorted(unknown)}")
    return cls(**values)


def save_json(path: Path, values: dict) -> None:
    """Write JSON atomically (temp file + rename). The temp file is this process's own: with one name for all, two
    writers of the same file (the ranks of a torchrun run both send "run" to its control.json) could rename each
    other's temp file away and fail."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(values, indent=2, sort_keys=True))
    tmp.replace(path)
