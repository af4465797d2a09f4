"""What every trainer shares: its networks and optimisers saved to (and restored from) run checkpoints, the
pruning of old ones, autocast, and the step loop of the conditional networks' trainers. Used by
:mod:`gan_art.training` (GANs), :mod:`gan_art.repair_training` and :mod:`gan_art.upscale_training`."""
from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from gan_art.checkpoints import (
    STATE_FILE,
    flatten_optimizer,
    load_weights,
    read_config,
    read_tensors,
    recover_checkpoints,
    unflatten_optimizer,
    write_checkpoint,
)
from gan_art.errors import TrainingError
from gan_art.precision import PRECISIONS
from gan_art.rundir import STEP_NAME, RunDir


def autocast(device_type: str, precision: str):
    """The forward-pass context for ``precision`` ("fp32" runs without autocast)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=PRECISIONS[precision])


class TrainingState:
    """The modules and optimisers a trainer updates, as checkpoints in a run directory.

    A checkpoint holds ``weights`` (the module that is shipped, e.g. the EMA generator) in the kind's
    weights file, and every module and optimiser in ``training_state.safetensors`` for resuming.
    """

    def __init__(self, run: RunDir, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                 weights: str, weights_file: str) -> None:
        self.run, self.modules, self.optimizers = run, modules, optimizers
        self.weights, self.weights_file = weights, weights_file  # name of the shipped module, and its file

    def save(self, step: int, config: dict, keep: int) -> Path:
        """Write checkpoint ``step`` atomically (refusing NaN weights) and delete all but the newest ``keep``."""
        for name, module in self.modules.items():
            if not all(torch.isfinite(p).all() for p in module.parameters()):
                raise TrainingError(f"{name} weights became NaN/inf at step {step}; not overwriting the last good "
                                    "checkpoint. Lower the learning rates (or raise r1_gamma).")
        tensors = {f"{name}.{k}": v for name, module in self.modules.items() for k, v in module.state_dict().items()}
        meta = {}
        for name, optimizer in self.optimizers.items():
            optimizer_tensors, meta[name] = flatten_optimizer(name, optimizer)
            tensors.update(optimizer_tensors)
        path = write_checkpoint(self.run.checkpoints_dir / STEP_NAME.format(step), config | {"training_state": meta},
                                self.modules[self.weights], training_state=tensors, weights_file=self.weights_file)
        for old in self.run.checkpoints(self.weights_file)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return path

    def restore(self) -> dict | None:
        """Load the newest checkpoint of the run (finishing or discarding a half-written one first); returns its
        config.json, or None when the run has none. Optimiser moments absent from it (an exported checkpoint)
        start afresh; a shipped module absent from its training state comes from the weights file."""
        recover_checkpoints(self.run.checkpoints_dir)
        checkpoint = self.run.latest_checkpoint(self.weights_file)
        if checkpoint is None:
            return None
        config = read_config(checkpoint)
        tensors = self.load_modules(checkpoint)
        meta = config.get("training_state") or config.get("optimizers") or {}  # "optimizers": runs before 0.2
        for name, optimizer in self.optimizers.items():
            if meta.get(name):
                unflatten_optimizer(name, optimizer, tensors, meta[name])
        return config

    def load_modules(self, checkpoint: Path, names: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
        """The weights of the modules ``names`` (default: all) from ``checkpoint`` (a run's or an exported one
        with its training state); returns all its tensors, optimiser moments included."""
        tensors = read_tensors(checkpoint / STATE_FILE)
        if not any(k.startswith(self.weights + ".") for k in tensors):
            tensors |= {f"{self.weights}.{k}": v for k, v in read_tensors(checkpoint / self.weights_file).items()}
        for name, module in self.modules.items():
            if names and name not in names:
                continue
            part = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
            load_weights(module, part, checkpoint / STATE_FILE)
        return tensors


class StepTrainer(Protocol):
    """What :func:`run_steps` drives: a trainer that takes one optimiser step at a time and saves itself."""

    step: int
    run: RunDir

    def train_step(self) -> dict[str, float]: ...

    def save(self, metrics: dict) -> Path: ...


def run_steps(trainer: StepTrainer, steps: int, batch_size: int, metrics_every: int, checkpoint_minutes: float,
              log: Callable[[str], None] = print, should_stop: Callable[[], bool] = lambda: False) -> Path | None:
    """Step ``trainer`` until ``steps`` (or ``should_stop``), averaging its figures into metrics.jsonl every
    ``metrics_every`` steps and saving a checkpoint every ``checkpoint_minutes`` and at the end; returns the last
    checkpoint written, if any."""
    totals: dict[str, float] = {}
    count, last_save, interval_start, path = 0, time.monotonic(), time.perf_counter(), None
    while trainer.step < steps:
        for k, v in trainer.train_step().items():
            totals[k] = totals.get(k, 0.0) + v
        trainer.step += 1
        count += 1
        stopping = trainer.step == steps or should_stop()
        if trainer.step % metrics_every == 0 or stopping:
            speed = count * batch_size / (time.perf_counter() - interval_start)
            metrics = {"step": trainer.step, "images_per_s": round(speed, 2),
                       **{k: round(v / count, 5) for k, v in totals.items()}}
            trainer.run.append_metrics(metrics | {"time": time.time()})
            log(" ".join(f"{k} {v}" for k, v in metrics.items()))
            totals, count, interval_start = {}, 0, time.perf_counter()
            if time.monotonic() - last_save > 60 * checkpoint_minutes or stopping:
                path = trainer.save(metrics)
                last_save = time.monotonic()
        if stopping:
            break
    return path
