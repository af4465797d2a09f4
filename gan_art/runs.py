"""Training runs as the app sees them: create, queue (one active run per device), control, watch, promote.

Everything here works from the run directories alone, so an app restart or a browser reload finds
running, queued and finished runs where it left them.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gan_art import worker
from gan_art.checkpoints import export_checkpoint
from gan_art.config import ModelConfig, TrainConfig, dcgan_config, save_json, to_dict
from gan_art.data import IMAGE_EXTENSIONS, load_images
from gan_art.errors import CheckpointError, ConfigError, DatasetError, RunError
from gan_art.images import image_grid
from gan_art.paths import REPO, dataset_path
from gan_art.precision import PrecisionChoice, cached_choice
from gan_art.rundir import ACTIVE_STATES, RunDir, registered_processes
from gan_art.training import TRANSFER_RECIPE, precision_key, resolve_device, transfer_config, transfer_steps

BUILTIN_LICENSE = "UTKFace subset: non-commercial research use only; image copyright stays with the owners"
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_UPLOAD_FILES = 20_000



def model_preset(arch: str, resolution: int) -> ModelConfig:
    """Sensible model sizes for training from the app (small enough for a CPU)."""
    if arch == "dcgan":
        return ModelConfig(arch="dcgan", resolution=resolution, z_dim=100, w_dim=100, width=64)
    return ModelConfig(arch="stylegan", resolution=resolution, z_dim=128, w_dim=128, mapping_layers=4,
                       width=32, max_channels=256)


@dataclass(frozen=True)
class TrainRequest:
    """A run as the Train tab (or the API) asks for it; the rest comes from the architecture's recipe."""

    arch: str = "stylegan"  # "stylegan" (modern default) or "dcgan" (the classic 2016 recipe)
    resolution: int = 32  # image side in pixels
    batch_size: int = 32  # images per step
    steps: int = 0  # optimiser steps; 0 = a run of about `minutes` on this machine, from the measured speed
    # (a fine-tune ends sooner on a fast one: Estimate.default_steps)
    minutes: float = 12.0  # the length `steps` = 0 aims at
    max_minutes: float = 0.0  # also stop after this many minutes of training; 0 = off
    lr_g: float = 0.0  # generator learning rate; 0 = the recipe's
    lr_d: float = 0.0  # discriminator learning rate; 0 = the recipe's
    augment: bool = True  # DiffAugment (colour, translation, cutout)
    ema: bool = True  # keep an EMA generator (what sampling uses)
    seed: int = 0  # seeds weights, data order and the sample-grid latents
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    precision: str = "auto"  # "auto" (fastest measured here), "fp32", "bf16" or "fp16"
    start_from: str = ""  # a trained model to fine-tune (transfer recipe, at its architecture); "" = from scratch


def app_config(data: str, request: TrainRequest = TrainRequest(), data_license: str = "",
               parent: Path | None = None) -> TrainConfig:
    """A TrainConfig for a run started from the app: the architecture's recipe, or with ``parent`` (the folder of
    ``request.start_from``) the transfer recipe from that model, plus the request's choices."""
    if parent is not None:
        base = transfer_config(parent, data, "runs/run")
        data_license = data_license or base.data_license
        augment, ema_kimg = base.augment, base.ema_kimg
    else:
        model = model_preset(request.arch, int(request.resolution))
        base = dcgan_config(model=model) if request.arch == "dcgan" else TrainConfig(model=model)
        augment, ema_kimg = "color,translation,cutout", 10.0
    values = dict(data=data, batch_size=int(request.batch_size), steps=max(1, int(request.steps)),
                  max_minutes=float(request.max_minutes), seed=int(request.seed), device=request.device,
                  data_license=data_license, precision=request.precision,
                  augment=augment if request.augment else "", ema_kimg=ema_kimg if request.ema else 0.0,
                  # grids every 25 steps or 20 s, whichever comes first, so the tab streams on any machine;
                  # checkpoints every 2 minutes at most
                  sample_every=25, sample_seconds=20.0, sample_grid=6, metrics_every=5, checkpoint_every=500,
                  checkpoint_minutes=2.0)
    if request.lr_g:
        values["lr_g"] = float(request.lr_g)
    if request.lr_d:
        values["lr_d"] = float(request.lr_d)
    return replace(base, **values)


def default_batch_size(start_from: str) -> int:
    """Images per step unless the user asks otherwise: the transfer recipe's for a fine-tune."""
    return TRANSFER_RECIPE["batch_size"] if start_from else TrainRequest.batch_size


def default_request(cuda: bool) -> TrainRequest:
    """The Train tab's starting point: a run of about 12 minutes on a CPU, a proper 64 px run on a GPU."""
    if cuda:
        return TrainRequest(resolution=64, batch_size=64, minutes=30.0)
    return TrainRequest()


@dataclass
class Estimate:
    """What a run will cost on this machine, from the precision probe."""

    choice: PrecisionChoice  # precision auto would choose, with the measured seconds per step
    precision: str  # the precision the run will use
    images_per_s: float

    def eta_s(self, steps: int, batch_size: int) -> float:
        return steps * batch_size / self.images_per_s

    def default_steps(self, request: TrainRequest) -> int:
        """A run of about ``request.minutes`` here; a fine-tune ends sooner on a fast machine, after the
        transfer recipe's images."""
        steps = self.steps_for(request.minutes, request.batch_size)
        return min(steps, transfer_steps(request.batch_size)) if request.start_from else steps

    def steps_for(self, minutes: float, batch_size: int) -> int:
        """A round number of steps that takes about ``minutes`` here."""
        steps = minutes * 60 * self.images_per_s / batch_size
        unit = 10 ** max(0, len(str(int(steps))) - 2)
        return max(unit, int(round(steps / unit) * unit))


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
    """CPU threads for a training worker: OMP_NUM_THREADS where the user set it, else every core, at a lower
    priority (worker.in_background); keeping a core back for the app instead cost a 2-core machine a third of
    its fine-tuning speed (benchmarks/train_ui.py)."""
    return int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1


class RunManager:
    """Runs under ``root``: at most one active worker per device; later starts wait in a queue."""

    def __init__(self, root: Path, threads: int | None = None) -> None:
        self.root = Path(root)
        self.threads = worker_threads() if threads is None else threads
        self._schedule_lock = threading.Lock()
        self._workers: dict[str, subprocess.Popen] = {}  # workers this process started, by run name

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
            if not dataset_path(cfg.data).exists():
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
        return [n for n in self.names() if worker.refresh(RunDir(self.root / n)).get("state") in ACTIVE_STATES]

    def schedule(self) -> str | None:
        """Start the oldest queued run if no run is active; returns the started run's name.

        Called when a run is queued and whenever a worker of ours exits, so the queue advances with no
        browser open."""
        with self._schedule_lock:
            if self.active():
                return None
            statuses = {n: RunDir(self.root / n).read_status() for n in self.names()}
            queued = [(status.get("queued_at", 0), n) for n, status in statuses.items()
                      if status.get("state") == "queued"]
            if not queued:
                return None
            name = min(queued)[1]
            self._workers[name] = worker.launch(RunDir(self.root / name), self.threads,
                                                on_exit=lambda returncode: self.schedule())
            return name

    def shutdown(self, timeout: float = 60.0) -> list[str]:
        """Stop the workers this process started (each writes a checkpoint first); returns their run names.

        A worker also stops by itself when this process dies without calling this (``kill -9``)."""
        running = {name: p for name, p in self._workers.items() if p.poll() is None}
        for name in running:
            RunDir(self.root / name).send("stop")
        deadline = time.monotonic() + timeout
        for process in running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return list(running)

    def control(self, name: str, command: str) -> None:
        """pause / resume / stop; resuming a failed or stopped run queues it again from its last checkpoint."""
        run = self.run(name)
        state = worker.refresh(run).get("state")
        if command == "resume" and state in ("failed", "stopped"):
            run.write_status("queued", queued_at=time.time(), message="waiting to resume", log_tail="")
            self.schedule()
        elif command == "resume":
            run.send("run")
        elif command in ("pause", "stop") and state in ACTIVE_STATES:
            run.send(command)
        elif command == "stop" and state == "queued":
            run.write_status("stopped", message="removed from the queue before it started")
        else:
            raise RunError(f"cannot {command} a run that is {state}")

    def estimate(self, cfg: TrainConfig, timeout: float = 300.0) -> Estimate:
        """Expected speed of ``cfg`` here, measured as a worker would run it (its threads, in its own process,
        so the app's own threads and memory are untouched); cached per machine after the first time."""
        choice = cached_choice(precision_key(cfg, cfg.batch_size), resolve_device(cfg.device), self.threads)
        choice = choice or self._probe(cfg, timeout)
        precision = choice.precision if cfg.precision == "auto" else cfg.precision
        seconds = choice.seconds_per_step.get(precision) or choice.seconds_per_step["fp32"]
        return Estimate(choice, precision, cfg.batch_size / seconds)

    def _probe(self, cfg: TrainConfig, timeout: float) -> PrecisionChoice:
        self.root.mkdir(parents=True, exist_ok=True)
        config_file = self.root / f".probe-{uuid.uuid4().hex[:8]}.json"
        save_json(config_file, to_dict(replace(cfg, precision="auto", threads=self.threads)))
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads))
        try:
            command = [sys.executable, "-m", "gan_art", "probe-precision", "--config", str(config_file), "--json"]
            result = subprocess.run(worker.in_background(command), cwd=REPO, env=env, capture_output=True, text=True,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RunError(f"measuring this machine's training speed took over {timeout:.0f} s") from None
        finally:
            config_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RunError(f"could not measure the training speed: {result.stderr.strip()[-500:]}")
        return PrecisionChoice(**json.loads(result.stdout.strip().splitlines()[-1]))

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
        export_checkpoint(checkpoint, target, with_training_state=True)  # so that it can be fine-tuned in turn
        return target


def _row(run: RunDir, pid: int | None = None) -> dict:
    status = worker.refresh(run)
    return {"name": run.name, "path": str(run.path), "state": status.get("state", "?"),
            "step": status.get("step", 0), "steps": status.get("steps", 0),
            "images_per_s": status.get("images_per_s"), "precision": status.get("precision", ""),
            "pid": pid or (status.get("pid") if status.get("state") in ACTIVE_STATES else None)}


def find_runs(runs_root: Path) -> list[dict]:
    """Runs being trained by any process of this user (app workers, CLI runs anywhere), then the other runs
    under ``runs_root``; one dict per run (name, path, state, step, steps, images_per_s, precision, pid)."""
    rows, seen = [], set()
    for entry in registered_processes(worker.is_worker_alive):
        run = RunDir(entry["run"])
        rows.append(_row(run, entry["pid"]))
        seen.add(run.path.resolve())
    manager = RunManager(runs_root)
    rows += [_row(manager.run(name)) for name in manager.names() if (runs_root / name).resolve() not in seen]
    return rows


def stop_run(name_or_path: str, runs_root: Path, wait_s: float = 120.0) -> str:
    """Ask a run (a name from :func:`find_runs` or a run directory) to stop, wait for it, and say what happened."""
    matches = [Path(r["path"]) for r in find_runs(runs_root) if name_or_path in (r["name"], r["path"])]
    path = Path(name_or_path) if RunDir(name_or_path).config_file.is_file() else (matches[0] if matches else None)
    if path is None:
        raise RunError(f"no run named {name_or_path!r}; see `python -m gan_art runs list`")
    run = RunDir(path)
    state = worker.refresh(run).get("state")
    if state == "queued":
        run.write_status("stopped", message="removed from the queue before it started")
        return f"{run.name}: removed from the queue"
    if state not in ACTIVE_STATES:
        return f"{run.name} is not running ({state})"
    run.send("stop")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = worker.refresh(run).get("state")
        if state not in ACTIVE_STATES:
            return f"{run.name}: {state} at step {run.read_status().get('step', 0)}"
        time.sleep(0.5)
    return f"{run.name}: asked to stop; still {state} after {wait_s:.0f} s (it stops after its current step)"
