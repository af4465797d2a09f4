"""Training runs as the app sees them: create, queue (one active run per device), control, watch, promote.

Everything here works from the run directories alone, so an app restart or a browser reload finds
running, queued and finished runs where it left them.
"""
from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gan_art import worker
from gan_art.checkpoints import CheckpointError, export_checkpoint
from gan_art.config import ConfigError, ModelConfig, TrainConfig, dcgan_config, save_json, to_dict
from gan_art.data import IMAGE_EXTENSIONS, DatasetError, load_images
from gan_art.rundir import RunDir

REPO = Path(__file__).resolve().parents[1]
BUILTIN_FACES = REPO / "data" / "faces-mini.zip"
BUILTIN_LICENSE = "UTKFace subset: non-commercial research use only; image copyright stays with the owners"
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_UPLOAD_FILES = 20_000


class RunError(ValueError):
    """A run request a user made cannot be carried out; the message says why."""


def model_preset(arch: str, resolution: int) -> ModelConfig:
    """Sensible model sizes for training from the app (small enough for a CPU)."""
    if arch == "dcgan":
        return ModelConfig(arch="dcgan", resolution=resolution, z_dim=100, w_dim=100, width=64)
    return ModelConfig(arch="stylegan", resolution=resolution, z_dim=128, w_dim=128, mapping_layers=4,
                       width=32, max_channels=256)


def app_config(data: str, arch: str = "stylegan", resolution: int = 32, batch_size: int = 32, steps: int = 2000,
               max_minutes: float = 0.0, lr_g: float | None = None, lr_d: float | None = None, augment: bool = True,
               ema: bool = True, seed: int = 0, device: str = "auto", data_license: str = "") -> TrainConfig:
    """A TrainConfig for a run started from the app: the architecture's recipe plus the form's choices."""
    model = model_preset(arch, int(resolution))
    base = dcgan_config(model=model) if arch == "dcgan" else TrainConfig(model=model)
    values = dict(data=data, batch_size=int(batch_size), steps=int(steps), max_minutes=float(max_minutes),
                  seed=int(seed), device=device, data_license=data_license,
                  augment="color,translation,cutout" if augment else "", ema_kimg=10.0 if ema else 0.0,
                  # frequent grids and metrics so the tab streams; checkpoints every 2 minutes at most
                  sample_every=25, sample_grid=6, metrics_every=5, checkpoint_every=500, checkpoint_minutes=2.0)
    if lr_g:
        values["lr_g"] = float(lr_g)
    if lr_d:
        values["lr_d"] = float(lr_d)
    return replace(base, **values)


def stage_files(files: list[str | Path], folder: Path) -> Path:
    """Copy uploaded images or one zip into ``folder`` under generated names (never a path from the upload).

    Returns what to train on: the zip itself, or the folder of images.
    """
    if not files:
        raise DatasetError("no files were uploaded")
    if len(files) > MAX_UPLOAD_FILES:
        raise DatasetError(f"too many files ({len(files)}); upload a zip instead")
    zips = [f for f in files if Path(f).suffix.lower() == ".zip"]
    if zips and len(files) > 1:
        raise DatasetError("upload either one zip or several images, not a mix")
    folder.mkdir(parents=True, exist_ok=True)
    for index, file in enumerate(files):
        source = Path(file)
        suffix = source.suffix.lower() if source.suffix.lower() in IMAGE_EXTENSIONS + (".zip",) else ".bin"
        shutil.copyfile(source, folder / f"{index:05d}{suffix}")
    return folder / "00000.zip" if zips else folder


@dataclass
class DatasetPreview:
    num_images: int
    skipped: dict[str, int]
    examples: list[str]
    thumbnails: np.ndarray  # (H, W, 3) grid of the first images


def preview_dataset(path: Path, resolution: int = 64, max_images: int = 64) -> DatasetPreview:
    """Count usable images (all of them) and make a thumbnail grid of the first few."""
    from gan_art.training import image_grid

    images, summary = load_images(path, resolution)
    grid = image_grid(images[:max_images], columns=8)
    return DatasetPreview(summary.num_images, dict(summary.skipped), summary.skipped_examples, np.asarray(grid))


@dataclass
class RunView:
    """What the Train tab shows for one run."""

    name: str
    status: dict
    metrics: list[dict]
    grids: list[Path]
    checkpoint: Path | None


def worker_threads() -> int:
    """CPU threads for a training worker: all cores but one, which the app keeps for its users."""
    return max(1, (os.cpu_count() or 2) - 1)


class RunManager:
    """Runs under ``root``: at most one active worker per device; later starts wait in a queue."""

    def __init__(self, root: Path, threads: int | None = None) -> None:
        self.root = Path(root)
        self.threads = worker_threads() if threads is None else threads

    def run(self, name: str) -> RunDir:
        if not RUN_NAME.match(name or "") or not (self.root / name).is_dir():
            raise RunError(f"no run named {name!r}")
        return RunDir(self.root / name)

    def names(self) -> list[str]:
        """Runs, newest first."""
        if not self.root.is_dir():
            return []
        runs = [p for p in self.root.iterdir() if p.is_dir() and RUN_NAME.match(p.name)
                and RunDir(p).config_file.is_file()]
        return [p.name for p in sorted(runs, key=lambda p: p.stat().st_ctime, reverse=True)]

    def new_name(self, prefix: str) -> str:
        prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", prefix).strip("-")[:40] or "run"
        return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"

    def create(self, cfg: TrainConfig, name: str, data_files: list[str | Path] | None = None) -> str:
        """A queued run; uploaded ``data_files`` are copied into the run's own ``data/`` folder."""
        if not RUN_NAME.match(name):
            raise RunError("a run name is 1-64 letters, digits, '-' or '_'")
        run = RunDir(self.root / name)
        if run.path.exists():
            raise RunError(f"a run named {name!r} already exists")
        run.path.mkdir(parents=True)
        try:
            if data_files:
                cfg = replace(cfg, data=str(stage_files(data_files, run.path / "data")))
            if not cfg.data:
                raise RunError("choose a dataset first")
            if not Path(cfg.data).exists():
                raise DatasetError(f"dataset path {cfg.data} does not exist on the server")
            cfg = replace(cfg, out=str(run.path))
            save_json(run.config_file, to_dict(cfg))
        except (RunError, DatasetError, ConfigError, OSError):
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        run.write_status("queued", step=0, steps=cfg.steps, queued_at=time.time(), message="waiting to start")
        self.schedule()
        return name

    def active(self) -> list[str]:
        return [n for n in self.names() if worker.refresh(RunDir(self.root / n)).get("state") in worker.ACTIVE_STATES]

    def schedule(self) -> str | None:
        """Start the oldest queued run if no run is active; returns the started run's name."""
        if self.active():
            return None
        queued = [(RunDir(self.root / n).read_status().get("queued_at", 0), n) for n in self.names()
                  if RunDir(self.root / n).read_status().get("state") == "queued"]
        if not queued:
            return None
        name = min(queued)[1]
        worker.launch(RunDir(self.root / name), self.threads)
        return name

    def control(self, name: str, command: str) -> None:
        """pause / resume / stop; resuming a failed or stopped run queues it again from its last checkpoint."""
        run = self.run(name)
        state = worker.refresh(run).get("state")
        if command == "resume" and state in ("failed", "stopped"):
            run.write_status("queued", queued_at=time.time(), message="waiting to resume", log_tail="")
            self.schedule()
        elif command == "resume":
            worker.send(run, "run")
        elif command in ("pause", "stop") and state in worker.ACTIVE_STATES:
            worker.send(run, command)
        elif command == "stop" and state == "queued":
            run.write_status("stopped", message="removed from the queue before it started")
        else:
            raise RunError(f"cannot {command} a run that is {state}")

    def view(self, name: str) -> RunView:
        run = self.run(name)
        status = worker.refresh(run)
        return RunView(name, status, run.read_metrics(), run.sample_grids(), run.latest_checkpoint())

    def promote(self, name: str, checkpoints_root: Path, new_name: str) -> Path:
        """Copy a run's newest checkpoint into ``checkpoints_root/new_name`` with a model card."""
        if not RUN_NAME.match(new_name or ""):
            raise RunError("a checkpoint name is 1-64 letters, digits, '-' or '_'")
        target = Path(checkpoints_root) / new_name
        if target.exists():
            raise RunError(f"checkpoint {new_name!r} already exists; choose another name")
        checkpoint = self.run(name).latest_checkpoint()
        if checkpoint is None:
            raise CheckpointError(f"run {name!r} has no checkpoint yet")
        export_checkpoint(checkpoint, target)
        return target
