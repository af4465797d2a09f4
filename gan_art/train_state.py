"""What every trainer shares: its networks and optimisers saved to (and restored from) run checkpoints, the
pruning of old ones, and autocast. Used by :mod:`gan_art.training` (GANs) and :mod:`gan_art.repair_training`."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

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
        tensors = read_tensors(checkpoint / STATE_FILE)
        if not any(k.startswith(self.weights + ".") for k in tensors):
            tensors |= {f"{self.weights}.{k}": v for k, v in read_tensors(checkpoint / self.weights_file).items()}
        for name, module in self.modules.items():
            part = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
            load_weights(module, part, checkpoint / STATE_FILE)
        meta = config.get("training_state") or config.get("optimizers") or {}  # "optimizers": runs before 0.2
        for name, optimizer in self.optimizers.items():
            if meta.get(name):
                unflatten_optimizer(name, optimizer, tensors, meta[name])
        return config
