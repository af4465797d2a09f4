"""The training loop: ``train(cfg, on_progress, should_stop)``.

Step-based and resumable. Every ``sample_every`` steps it writes a fixed-latent sample grid, every
``metrics_every`` steps a metrics.jsonl line, and every ``checkpoint_every`` steps (or
``checkpoint_minutes``) an atomic checkpoint into the run directory (see :mod:`gan_art.rundir`).
Data parallel across processes with ``torchrun``: gradients are averaged with all_reduce, as
stylegan2-ada does, because DDP's reducer does not support R1's double backward.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from gan_art import losses
from gan_art.augment import diff_augment
from gan_art.checkpoints import GENERATOR_FILE, STATE_FILE, read_config, read_tensors
from gan_art.config import TrainConfig, from_dict, save_json, to_dict
from gan_art.data import load_images, off_axis_colour
from gan_art.encoder import ENCODER_META, load_encoder
from gan_art.errors import TrainingError
from gan_art.explore import sample_images
from gan_art.images import image_grid, save_png, to_float
from gan_art.machine import machine_identity
from gan_art.metrics import swd
from gan_art.models import build_discriminator, build_generator
from gan_art.models.config import ModelConfig
from gan_art.models.projected import FeatureDiscriminator
from gan_art.paths import dataset_path
from gan_art.precision import PrecisionChoice, choose
from gan_art.rundir import STEP_NAME, RunDir
from gan_art.train_state import TrainingState, autocast

# Seeds derived from cfg.seed, named so that none of the random streams of a run coincide:
SAMPLE_SEED_OFFSET = 0x5EED  # the fixed sample-grid latents (the weights use cfg.seed itself)
DATA_SEED_STRIDE = 1000  # batches and augmentation: cfg.seed * STRIDE + rank + resume step, new after each resume
QUALITY_SEED_OFFSET = 1  # the real/fake subsets of the in-training quality score
# Settings that belong to the machine a run trains on, not to the run: a run continued from a checkpoint
# made elsewhere, or moved to another machine, decides them here (their defaults) unless the user sets them.
MACHINE_SETTINGS = ("precision", "threads", "device")
MEMORISING_R_T = 0.6  # ADA's target for r_t (Karras et al. 2020): above it D is overfitting its training images
ADA_INTERVAL = 4  # steps between adjustments of the adaptive colour strength, as ADA does
# A fine-tune's default length. On 100 images of a new look the recipe gains little past it and can get worse
# (validation faces, benchmarks/transfer_recipe_search.py by_step: sketch 42.6 at 12,800 images, 63.6 at 38,400 in
# session 14; with the pull, seeds 0-3, 41.2 / 45.0 / 42.1 / 40.0 at 13,200 against 46.5 / 45.2 / 45.2 / 42.0 at
# 17,600; old photo 23.0 / 22.0 / 23.0 against 22.1 / 23.2 / 21.4), and a faster CPU would otherwise run past it
# within the same minutes.
TRANSFER_IMAGES = 13_000
# Transfer to a small set (transfer_config): provisional values, see issue 24's note for what is measured
TRANSFER_RECIPE = dict(batch_size=16, freeze_d=3, freeze_g=3, feature_d=1.0, augment="color,translation,cutout",
                       feature_d_augment="half_color,translation,cutout",
                       ada_target=0.6, mirror=True, ema_kimg=10.0, ema_rampup=0.05, anchor=0.0005,
                       distance_consistency=1000.0, reconstruction=0.0)
# A set with colours of its own (its pixels off their main colour axis, gan_art.data.off_axis_colour) wants the
# opposite of a monochrome one (issue 24, validation faces, SWD): on paintings the discriminator's colour shifts
# hide the palette, and G's frozen 8-16 px blocks and D's frozen 32-16 px blocks its planes of colour (36.5 / 39.3
# with the shifts and FreezeG 3, seeds 0-1; 25.5 / 27.8 / 30.1 without the shifts and with FreezeG 1, seeds 0-2, 825
# steps; with FreezeD 1 too 25.3 / 25.3 / 26.5 in the same time, 723 steps; the pull back to the parent's weights
# stays: without it 23.2 / 24.9 / 24.9, but the hold-out paintings 26.0 / 28.3 against 24.7 / 26.0, one run nearer
# its training images); on sketches the shifts and FreezeG 3 help (36.1 with them; 53.1 without colour shifts and with
# FreezeG 2); old photos (grey or one tint) measured alike either way (21.4; 20.5 / 22.3).
# With the reconstruction loss at weight 10, 4 pairs a step: validation paintings 24.6 / 22.9 / 23.2 against
# 23.8 / 25.4 / 25.6, seeds 0-2, for 1.1x the step time (8 pairs: 23.4 / 24.3 / 24.5 for 1.25x); hold-out paintings
# 24.8 against 25.8 in the same 10 minutes (session 49). Not measured on monochrome sets, so off there. Weight 30
# is lower on the validation seeds 0-3 (mean 23.2 against 23.9) but read worse on the hold-out twice (26.2 / 26.1
# against 25.5 / 24.8, sessions 49-50; memorisation 3.382 against the evaluation's 3.380, a hair from failing);
# L1 at 32 px instead of 16: 23.3 / 23.8 / 25.0.
COLOUR_SET_RECIPE = dict(augment="translation,cutout", freeze_g=1, freeze_d=1, reconstruction=10.0)
# ... and D (with the feature heads) learns at this multiple of the parent's rate: validation paintings 23.8 / 25.6
# against 25.3 / 26.5, seeds 0 / 2; at 2x 23.3 / 24.4 / 24.8, but then the generator's images came nearer their
# training images than unseen paintings are (issue 24, session 41)
COLOUR_SET_LR_D_SCALE = 1.5
RECONSTRUCTION_IMAGES = 2000  # of a large set: encoding them all would delay the first step by minutes
MONOCHROME_BELOW = 0.01  # off-axis share: sketches 0, sepia photos 0.0006; paintings 0.044, face photos 0.038
COLOUR_SAMPLE = 64  # images read to tell


def transfer_steps(batch_size: int) -> int:
    """A fine-tune's default length in steps: TRANSFER_IMAGES at ``batch_size``."""
    return math.ceil(TRANSFER_IMAGES / batch_size)


@dataclass
class Progress:
    """A snapshot reported to ``on_progress`` at every metrics interval."""

    step: int
    steps: int
    images_per_s: float
    eta_s: float
    metrics: dict = field(default_factory=dict)
    sample_grid: Path | None = None
    checkpoint: Path | None = None
    precision: str = ""  # the precision in use and why, e.g. "fp32 — bf16 is 12.0x slower on this CPU"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device 'cuda' was requested but no CUDA GPU is available")
    return device


class _Distributed:
    """Rank/world size from torchrun's environment; a no-op for a single process."""

    def __init__(self, device: torch.device) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def average_gradients(self, module: nn.Module) -> None:
        if self.world_size == 1:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        flat = torch.cat([g.flatten() for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        torch.nn.utils.vector_to_parameters(flat, grads)  # writes the averaged values back in place

    def mean(self, value: torch.Tensor) -> float:
        if self.world_size > 1:
            value = value.detach().clone()
            dist.all_reduce(value)
            value /= self.world_size
        return float(value)

    def any(self, flag: bool) -> bool:
        return self.mean(torch.tensor(float(flag))) > 0  # true on any rank

    def broadcast_module(self, module: nn.Module) -> None:
        if self.world_size > 1:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, 0)


def memorising_note(metrics: dict) -> str:
    """A warning when the discriminator tells the training images apart too well (ADA's overfitting heuristic
    r_t, the mean sign of D on the real images), which on a small set means it has memorised them. Not while an
    adaptive colour augmentation below full strength is still there to counter it: it holds r_t near the target."""
    r_t = metrics.get("r_t", 0.0)
    if r_t <= MEMORISING_R_T or metrics.get("color_strength", 1.0) < 1.0:
        return ""
    return (f"the discriminator is memorising the training images (r_t {r_t:.2f} > {MEMORISING_R_T}): the samples "
            "may stop improving or copy them; more images, or stopping at the best grid, help")


def fixed_latents(cfg: TrainConfig) -> torch.Tensor:
    """The sample-grid latents: the same for every grid of a run, so grids show progress."""
    generator = torch.Generator().manual_seed(cfg.seed + SAMPLE_SEED_OFFSET)
    return torch.randn(cfg.sample_grid ** 2, cfg.model.z_dim, generator=generator)


def frozen_parameters(G: nn.Module, D: nn.Module, cfg: TrainConfig) -> list[nn.Parameter]:
    """FreezeD: D's RGB input and first ``freeze_d`` blocks. FreezeG: G's mapping, constant input and the
    convolutions of its first ``freeze_g`` synthesis blocks, so the parent's coarse layout and latent space (and
    with them its directions) stay while the RGB outputs and finer layers learn the new look."""
    modules = [D.from_rgb, *list(D.blocks)[:cfg.freeze_d]] if cfg.freeze_d else []
    constants = []
    if cfg.freeze_g:
        synthesis = getattr(G, "synthesis", None)
        if synthesis is None or cfg.freeze_g > len(synthesis.blocks):
            raise TrainingError(f"freeze_g {cfg.freeze_g} needs a style-based generator of at least that many blocks")
        blocks = list(synthesis.blocks)[:cfg.freeze_g]
        modules += [G.mapping, *(conv for block in blocks for conv in (block.conv0, block.conv1) if conv)]
        constants.append(synthesis.const)
    return constants + [p for module in modules for p in module.parameters()]


class GanModels:
    """G, D, the EMA generator, their optimisers and one training step at a given precision. No I/O."""

    def __init__(self, cfg: TrainConfig, device: torch.device, precision: str = "fp32") -> None:
        self.cfg, self.device = cfg, device
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G = build_generator(cfg.model).to(device, memory_format=self.memory_format)
        self.D = build_discriminator(cfg.model).to(device, memory_format=self.memory_format)
        self.G_ema = losses.make_ema(self.G)
        for parameter in frozen_parameters(self.G, self.D, cfg):
            parameter.requires_grad_(False)
        self.d_trainable = [p for p in self.D.parameters() if p.requires_grad]
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam([p for p in self.G.parameters() if p.requires_grad], lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d_trainable, lr=cfg.lr_d, betas=betas)
        self.FD = FeatureDiscriminator().to(device, memory_format=self.memory_format) if cfg.feature_d else None
        self.opt_fd = torch.optim.Adam(self.FD.heads.parameters(), lr=cfg.lr_d, betas=betas) if self.FD else None
        self.G_train, self.D_train = self.G, self.D
        self.anchored: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None  # see hold_near_parent
        self.G_parent: nn.Module | None = None  # see keep_parent_generator
        self.color_strength = 1.0  # of the augment policy's "color"; adapted by the trainer with cfg.ada_target
        self.set_precision(precision)

    def set_precision(self, precision: str) -> None:
        self.precision = precision
        # fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range and needs none
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")

    def hold_near_parent(self, parent: dict[str, torch.Tensor]) -> None:
        """Pull G's trained weights towards the parent's (``cfg.anchor``) after every step from now on; ``parent``
        holds the parent's training-state tensors (G's under "G.")."""
        trained = [(name, p) for name, p in self.G.named_parameters() if p.requires_grad]
        missing = [name for name, _ in trained if "G." + name not in parent]
        if missing:
            raise TrainingError(f"the parent checkpoint has no generator weights for {missing[0]} to hold near")
        self.anchored = ([p for _, p in trained], [parent["G." + name].to(p) for name, p in trained])

    def keep_parent_generator(self, parent: dict[str, torch.Tensor]) -> None:
        """Keep a frozen copy of the parent's generator (G's tensors in ``parent`` under "G.") for
        ``cfg.distance_consistency``."""
        if not hasattr(self.G, "synthesis"):
            raise TrainingError("distance_consistency needs a style-based generator (its blocks' features)")
        G = build_generator(self.cfg.model).to(self.device, memory_format=self.memory_format)
        G.load_state_dict({name[len("G."):]: value for name, value in parent.items() if name.startswith("G.")})
        self.G_parent = G.eval().requires_grad_(False)

    def compile(self) -> None:
        self.G_train, self.D_train = torch.compile(self.G), torch.compile(self.D)

    def autocast(self):
        return autocast(self.device.type, self.precision)

    def train_step(self, real: torch.Tensor, z: torch.Tensor, rng: torch.Generator, r1_due: bool,
                   ema_beta: float, average_gradients: Callable[[nn.Module], None] = lambda module: None,
                   paired: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """One D step then one G step on the same fakes (as the pytorch DCGAN example does); the feature
        discriminator, when there is one, sees D's augmented images (or its own, with ``feature_d_augment``) and
        adds its losses to D's. ``paired``: (ws, images) for ``cfg.reconstruction``."""
        cfg, scaler, FD = self.cfg, self.scaler, self.FD
        values = {}

        def augment(x: torch.Tensor, policy: str = cfg.augment) -> torch.Tensor:
            return diff_augment(x, policy, rng, self.color_strength)

        def augment_fd(x: torch.Tensor, seen_by_d: torch.Tensor) -> torch.Tensor:
            return augment(x, cfg.feature_d_augment) if cfg.feature_d_augment else seen_by_d

        with self.autocast():
            if self.G_parent is None:
                fake = self.G_train(z)
            else:  # the blocks FreezeG keeps give the parent's features anyway
                fake, features = self.G_train(z, with_features=True)
                with torch.no_grad():
                    parent_features = self.G_parent(z, with_features=True)[1]
                values["loss_dc"] = losses.distance_consistency(features[cfg.freeze_g:],
                                                                parent_features[cfg.freeze_g:])
            real_seen, fake_seen = augment(real), augment(fake.detach())
            real_logits = self.D_train(real_seen)
            fake_logits = self.D_train(fake_seen)
            loss_d = losses.d_loss(real_logits, fake_logits)
            if FD is not None:
                fd_real, fd_fake = augment_fd(real, real_seen), augment_fd(fake.detach(), fake_seen)
                values["loss_fd"] = torch.stack(list(map(losses.d_loss, FD(fd_real), FD(fd_fake)))).mean()
        for optimizer in filter(None, (self.opt_d, self.opt_fd)):
            optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss_d + cfg.feature_d * values.get("loss_fd", 0.0)).backward()
        r1 = torch.zeros(())
        if cfg.r1_gamma > 0 and r1_due:
            # lazy R1 in fp32: second-order gradients are too coarse in bf16
            real_r1 = real.detach().requires_grad_(True)
            r1 = losses.r1_penalty(real_r1, self.D(augment(real_r1)))
            scaler.scale(r1 * (cfg.r1_gamma / 2 * cfg.r1_interval)).backward()
        average_gradients(self.D)
        scaler.step(self.opt_d)
        if FD is not None:
            average_gradients(FD.heads)
            scaler.step(self.opt_fd)
            FD.heads.requires_grad_(False)

        self.D.requires_grad_(False)
        with self.autocast():
            fake_seen = augment(fake)
            loss_g = losses.g_loss(self.D_train(fake_seen))
            if paired is not None:
                ws, images = paired
                values["loss_rec"] = losses.coarse_l1(self.G.synthesis(ws).float(), images)
            if FD is not None:
                values["loss_fg"] = torch.stack(list(map(losses.g_loss, FD(augment_fd(fake, fake_seen))))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g + cfg.feature_d * values.get("loss_fg", 0.0)
                     + cfg.distance_consistency * values.get("loss_dc", 0.0)
                     + cfg.reconstruction * values.get("loss_rec", 0.0)).backward()
        for parameter in self.d_trainable:  # the frozen blocks (FreezeD) stay frozen
            parameter.requires_grad_(True)
        if FD is not None:
            FD.heads.requires_grad_(True)
        average_gradients(self.G)
        scaler.step(self.opt_g)
        if self.anchored is not None:
            with torch.no_grad():
                for weight, parent_weight in zip(*self.anchored):
                    weight.lerp_(parent_weight, cfg.anchor)
        scaler.update()
        losses.ema_update(self.G_ema, self.G, ema_beta)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "r1": r1.detach(),
                "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
                "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
                "r_t": torch.sign(real_logits.detach().float()).mean(),
                **{name: value.detach() for name, value in values.items()}}


def precision_key(cfg: TrainConfig, batch: int) -> str:
    """What a precision probe depends on besides the machine: the model, the batch, the memory layout, the
    frozen blocks (a transfer run's step skips their weights' backward, so it is faster than a full one), the
    feature discriminator, distance consistency's parent generator and the reconstruction's pairs (which add to
    it)."""
    key = f"gan|{json.dumps(to_dict(cfg.model), sort_keys=True)}|batch={batch}|channels_last={cfg.channels_last}"
    key += f"|freeze_d={cfg.freeze_d}|freeze_g={cfg.freeze_g}" if cfg.freeze_d or cfg.freeze_g else ""
    key += "|feature_d" if cfg.feature_d else ""
    key += "|distance_consistency" if cfg.distance_consistency else ""
    return key + (f"|reconstruction_pairs={cfg.reconstruction_pairs}" if cfg.reconstruction else "")


def choose_precision(cfg: TrainConfig, device: torch.device, batch: int | None = None) -> PrecisionChoice:
    """``cfg.precision``, or for ``auto`` the fastest precision measured on this machine (cached)."""
    batch = batch or cfg.batch_size

    def make_step(precision: str, batch_size: int):
        models = GanModels(cfg, device, precision)
        if cfg.distance_consistency:  # its parent's forward pass is part of the step's time
            models.keep_parent_generator({"G." + name: value for name, value in models.G.state_dict().items()})
        rng = torch.Generator(device).manual_seed(0)
        real = torch.rand(batch_size, 3, cfg.model.resolution, cfg.model.resolution, device=device) * 2 - 1
        real = real.contiguous(memory_format=models.memory_format)
        z = torch.randn(batch_size, cfg.model.z_dim, device=device)
        paired = None
        if cfg.reconstruction:
            ws = models.G.mapping(torch.randn(cfg.reconstruction_pairs, cfg.model.z_dim, device=device)).detach()
            paired = ws, real[:1].expand(cfg.reconstruction_pairs, -1, -1, -1)
        # R1 runs in fp32 whatever the precision, so it is left out of the comparison
        return lambda: models.train_step(real, z, rng, r1_due=False, ema_beta=0.99, paired=paired)

    return choose(cfg.precision, precision_key(cfg, batch), make_step, batch, device)


class _Trainer:
    """State of one run; :func:`train` is the public entry point."""

    def __init__(self, cfg: TrainConfig, resume: bool) -> None:
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.dist = _Distributed(self.device)
        self.run = RunDir(cfg.out)
        self.run.path.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)  # weights identical on every rank
        self.models = GanModels(cfg, self.device)
        modules = {"G": self.models.G, "D": self.models.D, "G_ema": self.models.G_ema}
        optimizers = {"opt_g": self.models.opt_g, "opt_d": self.models.opt_d}
        if self.models.FD is not None:  # its heads only: the ImageNet features come from their package
            modules["FD"], optimizers["opt_fd"] = self.models.FD.heads, self.models.opt_fd
        self.state = TrainingState(self.run, modules, optimizers, "G_ema", GENERATOR_FILE)
        self.precision = PrecisionChoice("fp32", cfg.precision)
        self.step, self.images_seen, self.train_seconds, self.cpu_seconds = 0, 0, 0.0, 0.0
        config = self.state.restore() if resume else None
        parent = None  # the parent's training-state tensors, read once
        if config is not None:
            self.step, self.images_seen = config["step"], config["images_seen"]
            self.train_seconds, self.cpu_seconds = config["train_seconds"], config["cpu_seconds"]
            self.models.color_strength = config.get("color_strength", 1.0)
        elif cfg.init_from:
            parent = self.state.load_modules(parent_checkpoint(cfg), ("G", "D", "G_ema"))  # feature heads start afresh
        if cfg.anchor or cfg.distance_consistency:
            if parent is None:  # a resumed run keeps comparing with the parent
                if not (Path(cfg.init_from) / STATE_FILE).is_file():
                    raise TrainingError(f"this fine-tune holds its generator near {cfg.init_from}, which is no "
                                        "longer there with its training state: put it back, or continue with "
                                        "anchor 0 and distance_consistency 0")
                parent = read_tensors(parent_checkpoint(cfg) / STATE_FILE)
            if cfg.anchor:
                self.models.hold_near_parent(parent)
            if cfg.distance_consistency:
                self.models.keep_parent_generator(parent)
        for module in (self.models.G, self.models.D, self.models.G_ema):
            self.dist.broadcast_module(module)
        if cfg.compile:
            self.models.compile()
        self.rng = torch.Generator(self.device).manual_seed(cfg.seed * DATA_SEED_STRIDE + self.dist.rank + self.step)
        self.r_t_since_adjusted: list[torch.Tensor] = []
        self.batch = cfg.batch_size // self.dist.world_size
        if self.batch < 1:
            raise TrainingError(f"batch_size {cfg.batch_size} is smaller than the {self.dist.world_size} processes")

    @property
    def G_ema(self) -> nn.Module:
        return self.models.G_ema

    def resolve_precision(self) -> PrecisionChoice:
        """Measure (or read from the cache) the precision on rank 0 and use it on every rank."""
        choice = [choose_precision(self.cfg, self.device, self.batch) if self.dist.is_main else None]
        if self.dist.world_size > 1:
            dist.broadcast_object_list(choice, 0)
        self.precision = choice[0]
        self.models.set_precision(self.precision.precision)
        return self.precision

    def load_data(self) -> None:
        images, summary = load_images(dataset_path(self.cfg.data), self.cfg.model.resolution, self.cfg.max_images)
        self.images = images.to(self.device)
        self.data_summary = {**summary.to_dict(), "source": self.cfg.data,
                             "license": self.cfg.data_license or "unknown (user supplied)"}
        self.paired = self.encode_images() if self.cfg.reconstruction else None

    def encode_images(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Up to RECONSTRUCTION_IMAGES training images (a seeded draw) and the w the parent's encoder gives each,
        on every layer, for ``cfg.reconstruction``."""
        encoder = load_encoder(parent_checkpoint(self.cfg))
        if encoder is None:
            raise TrainingError(f"reconstruction needs an encoder beside {self.cfg.init_from}; set it to 0")
        draw = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(self.cfg.seed))
        images = self.images[draw[:RECONSTRUCTION_IMAGES].to(self.device)]
        with torch.no_grad():
            ws = torch.cat([encoder(to_float(chunk.cpu())) for chunk in images.split(64)])
        return ws[:, None].expand(-1, self.models.G.synthesis.num_ws, -1).to(self.device), images

    def paired_batch(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self.paired is None:
            return None
        ws, images = self.paired
        index = torch.randint(len(ws), (self.cfg.reconstruction_pairs,), generator=self.rng, device=self.device)
        return ws[index], to_float(images[index])

    def real_batch(self) -> torch.Tensor:
        index = torch.randint(len(self.images), (self.batch,), generator=self.rng, device=self.device)
        x = to_float(self.images[index])
        if self.cfg.mirror:
            flip = torch.rand(self.batch, 1, 1, 1, generator=self.rng, device=self.device) < 0.5
            x = torch.where(flip, x.flip(3), x)
        return x.contiguous(memory_format=self.models.memory_format)

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        z = torch.randn(self.batch, cfg.model.z_dim, generator=self.rng, device=self.device)
        real = self.real_batch()
        beta = losses.ema_beta(cfg.batch_size, self.images_seen + cfg.batch_size, cfg.ema_kimg, cfg.ema_rampup)
        values = self.models.train_step(real, z, self.rng, self.step % cfg.r1_interval == 0, beta,
                                        self.dist.average_gradients, self.paired_batch())
        self.images_seen += cfg.batch_size
        self.step += 1
        if cfg.ada_target and "color" in cfg.augment.split(","):
            self.adapt_color_strength(values["r_t"])
            values["color_strength"] = torch.tensor(self.models.color_strength)
        return values

    def adapt_color_strength(self, r_t: torch.Tensor) -> None:
        """ADA's controller (Karras et al. 2020) on the colour augmentation's strength: every ADA_INTERVAL steps,
        up when the discriminator's r_t is above cfg.ada_target (it is overfitting), down when below, by
        cfg.ada_kimg thousand images for the whole range."""
        self.r_t_since_adjusted.append(r_t)
        if self.step % ADA_INTERVAL:
            return
        r_t_mean = self.dist.mean(torch.stack(self.r_t_since_adjusted).mean())
        self.r_t_since_adjusted = []
        direction = (r_t_mean > self.cfg.ada_target) - (r_t_mean < self.cfg.ada_target)
        change = direction * ADA_INTERVAL * self.cfg.batch_size / (self.cfg.ada_kimg * 1000)
        self.models.color_strength = min(max(self.models.color_strength + change, 0.0), 1.0)

    def checkpoint_config(self, metrics: dict) -> dict:
        cfg = self.cfg
        train_config = to_dict(cfg)
        model_config = train_config.pop("model")
        return {"model": model_config, "train": train_config,
                "data": self.data_summary, "license": self.data_summary["license"], "step": self.step,
                "images_seen": self.images_seen, "color_strength": self.models.color_strength,
                "train_seconds": round(self.train_seconds, 1),
                "cpu_seconds": round(self.cpu_seconds, 1), "metrics": metrics,
                "precision": self.precision.to_dict(), "hardware": _hardware(self.device, self.dist.world_size)}

    def save_checkpoint(self, metrics: dict) -> Path:
        return self.state.save(self.step, self.checkpoint_config(metrics), self.cfg.keep_checkpoints)

    def quality(self, num_images: int = 1024) -> dict:
        """SWD of the EMA generator against a fixed subset of the training images (lower is better)."""
        rng = torch.Generator().manual_seed(self.cfg.seed + QUALITY_SEED_OFFSET)
        n = min(num_images, len(self.images))
        real = self.images[torch.randperm(len(self.images), generator=rng)[:n].to(self.images.device)].cpu()
        fake = sample_images(self.G_ema, torch.randn(n, self.cfg.model.z_dim, generator=rng))
        return {k: v for k, v in swd(real, fake, seed=self.cfg.seed).items() if k == "swd_avg"}

    def write_samples(self, z: torch.Tensor) -> Path:
        self.run.samples_dir.mkdir(exist_ok=True)
        path = self.run.samples_dir / f"{STEP_NAME.format(self.step)}.png"
        save_png(image_grid(sample_images(self.G_ema, z), self.cfg.sample_grid), path)
        return path


def _hardware(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        return f"{world_size}x {torch.cuda.get_device_name(device)}"
    return f"{world_size}x CPU ({torch.get_num_threads()} threads, {os.cpu_count()} cores)"


class _Loop:
    """The step loop's bookkeeping: interval metrics, stop conditions and the run directory outputs."""

    def __init__(self, trainer: _Trainer, on_progress, should_stop) -> None:
        self.trainer, self.cfg, self.run = trainer, trainer.cfg, trainer.run
        self.on_progress, self.should_stop = on_progress, should_stop
        self.is_main = trainer.dist.is_main
        self.z_fixed = fixed_latents(self.cfg)
        self.totals: dict[str, torch.Tensor] = {}
        self.interval_steps, self.interval_seconds = 0, 0.0
        self.last_checkpoint_time = self.last_sample_time = time.monotonic()
        self.time_budget_end = trainer.train_seconds + 60 * self.cfg.max_minutes  # step time only, not pauses
        self.metrics: dict = {}
        self.sample_path: Path | None = None
        self.checkpoint_path: Path | None = None
        self.finished = self.stopped = False

    def step(self) -> None:
        trainer = self.trainer
        t0, c0 = time.perf_counter(), time.process_time()
        for key, value in trainer.train_step().items():
            self.totals[key] = self.totals.get(key, 0.0) + value
        elapsed = time.perf_counter() - t0
        self.interval_steps += 1
        self.interval_seconds += elapsed
        trainer.train_seconds += elapsed
        trainer.cpu_seconds += time.process_time() - c0
        out_of_time = self.cfg.max_minutes > 0 and trainer.train_seconds >= self.time_budget_end
        self.finished = trainer.step >= self.cfg.steps or trainer.dist.any(out_of_time)
        self.stopped = trainer.dist.any(self.should_stop() if self.should_stop else False)

    @property
    def done(self) -> bool:
        return self.finished or self.stopped

    def due(self, every: int) -> bool:
        return self.trainer.step % every == 0 or self.done

    def close_interval(self) -> None:
        """Average the interval's losses into ``metrics``; a NaN/inf stops the run here."""
        step = self.trainer.step
        values = {k: float(v) / self.interval_steps for k, v in self.totals.items()}
        if not all(math.isfinite(v) for v in values.values()):
            if self.is_main:
                self.run.write_status("failed", message=f"training diverged (NaN/inf loss) at step {step}")
            raise TrainingError(f"training diverged (NaN/inf loss) near step {step}; the last good "
                                "checkpoint is kept. Lower the learning rates or raise r1_gamma.")
        speed = self.interval_steps * self.cfg.batch_size / max(self.interval_seconds, 1e-9)
        self.metrics = {"step": step, "images_seen": self.trainer.images_seen, "images_per_s": round(speed, 2),
                        "train_seconds": round(self.trainer.train_seconds, 1),
                        "cpu_seconds": round(self.trainer.cpu_seconds, 1),
                        **{k: round(v, 5) for k, v in values.items()}}
        self.totals, self.interval_steps, self.interval_seconds = {}, 0, 0.0
        if self.is_main and self.cfg.quality_every and self.due(self.cfg.quality_every):
            self.metrics.update(self.trainer.quality())

    def write_outputs(self) -> None:
        """Sample grid, checkpoint, metrics line, status and progress callback, each when due (rank 0)."""
        cfg, step = self.cfg, self.trainer.step
        sample_overdue = cfg.sample_seconds > 0 and time.monotonic() - self.last_sample_time >= cfg.sample_seconds
        if self.due(cfg.sample_every) or sample_overdue:
            self.sample_path = self.trainer.write_samples(self.z_fixed)
            self.last_sample_time = time.monotonic()
        minutes = (time.monotonic() - self.last_checkpoint_time) / 60
        if self.due(cfg.checkpoint_every) or minutes >= cfg.checkpoint_minutes:
            self.checkpoint_path = self.trainer.save_checkpoint(self.metrics)
            self.last_checkpoint_time = time.monotonic()
        if self.due(cfg.metrics_every):
            self.run.append_metrics(self.metrics | {"time": time.time()})
            speed = self.metrics["images_per_s"]
            eta = (cfg.steps - step) * cfg.batch_size / max(speed, 1e-9)
            state = "finished" if self.finished else ("stopped" if self.stopped else "running")
            self.run.write_status(state, step=step, steps=cfg.steps, images_per_s=speed, eta_s=round(eta, 1),
                                  message=memorising_note(self.metrics))
            if self.on_progress is not None:
                self.on_progress(Progress(step, cfg.steps, speed, eta, self.metrics, self.sample_path,
                                          self.checkpoint_path, self.trainer.precision.reason))

    def run_until_done(self) -> Path | None:
        if self.is_main:
            save_json(self.run.config_file, to_dict(self.cfg))
            save_json(self.run.machine_file, {"machine": machine_identity()})
            self.run.write_status("starting", step=self.trainer.step, steps=self.cfg.steps, pid=os.getpid(),
                                  message="loading data")
        self.trainer.load_data()
        if self.is_main and not self.run.sample_grids():
            self.sample_path = self.trainer.write_samples(self.z_fixed)  # an early first grid
        if self.is_main and self.cfg.precision == "auto":
            self.run.write_status("starting", message="choosing the precision: timing a few steps on this machine")
        choice = self.trainer.resolve_precision()
        if self.is_main:  # running from here: the first metrics line can be minutes away on a slow CPU
            self.run.write_status("running", precision=choice.precision, precision_note=choice.reason, message="")
        self.last_sample_time = time.monotonic()
        while self.trainer.step < self.cfg.steps and not self.done:
            self.step()
            if self.due(self.cfg.metrics_every):
                self.close_interval()
            if self.is_main:
                self.write_outputs()
        if self.is_main and self.checkpoint_path is None:  # nothing to do (already at cfg.steps)
            self.checkpoint_path = self.run.latest_checkpoint()
        return self.checkpoint_path


def train(cfg: TrainConfig, on_progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None, resume: bool = False) -> Path | None:
    """Train until ``cfg.steps`` or ``should_stop()``; returns the final checkpoint folder (None off rank 0).

    With ``resume`` the newest checkpoint in ``cfg.out`` is loaded and its step count kept.
    """
    trainer = _Trainer(cfg, resume)
    loop = _Loop(trainer, on_progress, should_stop)
    try:
        final = loop.run_until_done()
    except OSError as exc:  # a full disk, a vanished folder: say so and keep the last complete checkpoint
        raise TrainingError(f"cannot write to the run directory {cfg.out} ({exc.strerror or exc}); the last "
                            "complete checkpoint is kept. Free some space, then resume.") from exc
    if trainer.dist.world_size > 1:
        dist.barrier()
    return final if trainer.dist.is_main else None


def parent_checkpoint(cfg: TrainConfig) -> Path:
    """``cfg.init_from``, checked to be a checkpoint this run's model can start from."""
    parent = Path(cfg.init_from)
    if not (parent / STATE_FILE).is_file():
        raise TrainingError(f"{parent} has no training state (its discriminator) to start a run from")
    model = to_dict(from_dict(ModelConfig, read_config(parent).get("model", {})))
    wanted = to_dict(cfg.model)
    if model != wanted:
        differs = ", ".join(f"{k} {model[k]!r} there, {v!r} here" for k, v in wanted.items() if model[k] != v)
        raise TrainingError(f"cannot start from {parent.name}: its architecture differs ({differs}); "
                            f"train at its resolution and size, or from scratch")
    return parent


def transfer_config(parent: str | Path, data: str, out: str, **overrides) -> TrainConfig:
    """The recipe for training on a small set of one's own images starting from a trained model ``parent``:
    its architecture and optimiser settings, its weights at step 0 (so the EMA ramps up from this run's own
    images), FreezeD, FreezeG, the feature discriminator, DiffAugment with its colour at ADA's adaptive strength,
    mirroring and half the usual batch (as many images in the same time, twice the steps); for images with colours
    of their own, COLOUR_SET_RECIPE's changes and a faster discriminator (COLOUR_SET_LR_D_SCALE). ``overrides``
    (not None) replace any field."""
    config = read_config(Path(parent))
    if "train" not in config:
        raise TrainingError(f"{parent} has no training config to start a run from")
    kept = ("lr_g", "lr_d", "beta1", "beta2", "r1_gamma", "r1_interval")
    values = {k: v for k, v in config["train"].items() if k in kept}
    model = {**config["model"], **(overrides.pop("model", None) or {})}  # a change is refused below, clearly
    values |= dict(TRANSFER_RECIPE, data=str(data), out=str(out), model=model, init_from=str(parent),
                   data_license=f"your images, on a model trained on {config.get('license') or 'unknown data'}")
    parent_model = from_dict(ModelConfig, model)
    if not is_monochrome(data, parent_model.resolution):
        values |= COLOUR_SET_RECIPE | dict(lr_d=values["lr_d"] * COLOUR_SET_LR_D_SCALE)
    values["freeze_g"] = generator_blocks_to_freeze(parent_model, values["freeze_g"])
    if parent_model.arch != "stylegan":  # no synthesis blocks to compare features in, no latents to rebuild at
        values["distance_consistency"] = values["reconstruction"] = 0.0
    if not (Path(parent) / ENCODER_META).is_file():
        values["reconstruction"] = 0.0
    values |= {k: v for k, v in overrides.items() if v is not None}
    values.setdefault("steps", transfer_steps(values["batch_size"]))
    cfg = from_dict(TrainConfig, values)
    parent_checkpoint(cfg)
    return cfg


def is_monochrome(data: str | Path, resolution: int) -> bool:
    """Whether the images in ``data`` are grey or of a single tint (sketches, old photos), from a sample of them."""
    return off_axis_colour(load_images(data, resolution, max_images=COLOUR_SAMPLE)[0]) < MONOCHROME_BELOW


def generator_blocks_to_freeze(model: ModelConfig, wanted: int) -> int:
    """FreezeG ``wanted``, leaving at least the two finest blocks to learn (a 64 px model at most keeps 4-16 px);
    none for a generator without style blocks."""
    if model.arch != "stylegan":
        return 0
    blocks = int(math.log2(model.resolution)) - 1  # 4 px up to the resolution
    return max(0, min(wanted, blocks - 2))


def run_from_checkpoint(checkpoint: str | Path, out: str | Path, **overrides) -> TrainConfig:
    """Start a run directory at ``out`` from a checkpoint folder (e.g. a shipped one with its training state).

    The checkpoint's own training config is used (``overrides`` such as steps or data applied) and the
    step count carries on; optimiser moments start afresh when the checkpoint does not have them. Its
    machine settings are not: they are decided here unless given in ``overrides``.
    """
    config = read_config(Path(checkpoint))
    if not (Path(checkpoint) / STATE_FILE).is_file() or "train" not in config:
        raise TrainingError(f"{checkpoint} has no training state to continue from")
    run_values = {k: v for k, v in config["train"].items() if k not in MACHINE_SETTINGS}
    values = {**run_values, "model": config["model"], "out": str(out)}
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = from_dict(TrainConfig, values)
    run = RunDir(out)
    if run.checkpoints():
        raise TrainingError(f"{out} already holds a run; continue it with --resume {out}")
    shutil.copytree(checkpoint, run.checkpoints_dir / STEP_NAME.format(config["step"]))
    save_json(run.config_file, to_dict(cfg))
    return cfg


def load_run_config(run_dir: str | Path, **overrides) -> TrainConfig:
    """The TrainConfig saved in a run directory, with ``overrides`` applied (e.g. more steps).

    A run that last trained on another machine gets this machine's defaults for its machine settings.
    """
    run = RunDir(run_dir)
    if not run.config_file.is_file():
        raise TrainingError(f"{run_dir} is not a run directory (no train_config.json)")
    values = json.loads(run.config_file.read_text())
    if run.machine_file.is_file() and json.loads(run.machine_file.read_text()).get("machine") != machine_identity():
        values = {k: v for k, v in values.items() if k not in MACHINE_SETTINGS}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(TrainConfig, values)
