"""The run directory: the protocol between a training process and whoever watches it.

    train_config.json   the resolved TrainConfig
    control.json        {"command": "run" | "pause" | "stop"}, written by whoever controls the run
    status.json         state, step, speed, ETA, precision, message; rewritten atomically
    metrics.jsonl       one JSON object per metrics interval (append-only)
    samples/step-NNNNNNNNN.png   fixed-latent sample grids
    checkpoints/step-NNNNNNNNN/  checkpoint folders (see gan_art.checkpoints)
    worker.log          stdout/stderr of a worker process, when started by gan_art.worker

Any process can read these files at any time; writers only ever replace whole files by rename.
Every training process (app worker or CLI) also registers itself in the per-user cache
(:func:`register_process`), so ``python -m gan_art runs list`` finds runs wherever they were started.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from gan_art.checkpoints import GENERATOR_FILE, list_checkpoints
from gan_art.config import save_json
from gan_art.errors import RunError
from gan_art.paths import cache_dir

STEP_NAME = "step-{:09d}"
STATES = ("queued", "starting", "running", "paused", "finished", "stopped", "failed")
ACTIVE_STATES = ("starting", "running", "paused")
COMMANDS = ("run", "pause", "stop")


class RunDir:
    """Paths and small readers/writers for one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_file(self) -> Path:
        return self.path / "train_config.json"

    @property
    def machine_file(self) -> Path:
        return self.path / "machine.json"

    @property
    def status_file(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def log_file(self) -> Path:
        return self.path / "worker.log"

    def send(self, command: str) -> None:
        """Ask the run's training process to run, pause or stop (it polls between steps)."""
        if command not in COMMANDS:
            raise RunError(f"command must be one of {COMMANDS}")
        save_json(self.path / "control.json", {"command": command, "time": time.time()})

    def command(self) -> str:
        try:
            return json.loads((self.path / "control.json").read_text()).get("command", "run")
        except (FileNotFoundError, json.JSONDecodeError):
            return "run"

    def write_status(self, state: str, **fields) -> None:
        assert state in STATES, state
        status = {**self.read_status(), **fields, "state": state, "updated": time.time()}
        save_json(self.status_file, status)

    def read_status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def append_metrics(self, values: dict) -> None:
        with open(self.metrics_file, "a") as f:
            f.write(json.dumps(values) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self) -> list[dict]:
        """All complete metrics lines (a line being written by a killed process is ignored)."""
        if not self.metrics_file.is_file():
            return []
        rows = []
        for line in self.metrics_file.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def sample_grids(self) -> list[Path]:
        if not self.samples_dir.is_dir():
            return []
        return sorted(self.samples_dir.glob("step-*.png"))

    def checkpoints(self, weights_file: str = GENERATOR_FILE) -> list[Path]:
        return list_checkpoints(self.checkpoints_dir, weights_file)

    def latest_checkpoint(self, weights_file: str = GENERATOR_FILE) -> Path | None:
        found = self.checkpoints(weights_file)
        return found[-1] if found else None


def step_of(path: Path) -> int:
    """The step number in a ``step-NNNNNNNNN`` file or folder name."""
    match = re.search(r"step-(\d+)", path.name)
    return int(match.group(1)) if match else -1


def _registry() -> Path:
    path = cache_dir() / "active-runs"
    path.mkdir(exist_ok=True)
    return path


@contextlib.contextmanager
def register_process(run: RunDir, kind: str) -> Iterator[None]:
    """Record this process as training ``run`` while the block runs (``kind``: "worker" or "cli")."""
    entry = _registry() / f"{os.getpid()}.json"
    save_json(entry, {"pid": os.getpid(), "run": str(run.path.resolve()), "kind": kind, "started": time.time()})
    try:
        yield
    finally:
        entry.unlink(missing_ok=True)


def registered_processes(is_alive) -> list[dict]:
    """Registered training processes that ``is_alive(pid)`` confirms; entries of dead ones are removed."""
    found = []
    for entry in sorted(_registry().glob("*.json")):
        try:
            values = json.loads(entry.read_text())
        except (OSError, json.JSONDecodeError):
            values = {}
        if values.get("pid") and is_alive(values["pid"]):
            found.append(values)
        else:
            entry.unlink(missing_ok=True)
    return found
