"""Training in a separate process, so a crash, an out-of-memory error or ``kill -9`` never takes the app down.

The run directory is the protocol (see :mod:`gan_art.rundir`): the app writes ``train_config.json``
and ``control.json`` ({"command": "run" | "pause" | "stop"}); the worker writes status, metrics,
sample grids and checkpoints. Either side can restart at any time and pick up from the files.

    python -m gan_art.worker RUN_DIR      # what the app launches; resumes from the newest checkpoint
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from gan_art.config import save_json
from gan_art.rundir import RunDir

ACTIVE_STATES = ("starting", "running", "paused")
COMMANDS = ("run", "pause", "stop")
LOG_TAIL_LINES = 15


def send(run: RunDir, command: str) -> None:
    """Ask a run's worker to run, pause or stop (it polls between steps)."""
    if command not in COMMANDS:
        raise ValueError(f"command must be one of {COMMANDS}")
    save_json(run.path / "control.json", {"command": command, "time": time.time()})


def read_command(run: RunDir) -> str:
    try:
        return json.loads((run.path / "control.json").read_text()).get("command", "run")
    except (FileNotFoundError, json.JSONDecodeError):
        return "run"


def is_worker_alive(pid: int | None) -> bool:
    """True if ``pid`` is a live gan_art worker (a recycled pid running something else does not count)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return b"gan_art.worker" in cmdline and stat.split(")")[-1].split()[0] != "Z"


def log_tail(run: RunDir, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(run.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def launch(run: RunDir, threads: int = 0) -> int:
    """Start a detached worker process for ``run`` (it outlives the app) and return its pid."""
    send(run, "run")
    run.write_status("starting", message="starting the worker process", pid=None)
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with open(run.log_file, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gan_art.worker", str(run.path)],
                                   cwd=Path(__file__).resolve().parents[1], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    run.write_status("starting", message="starting the worker process", pid=process.pid)
    return process.pid


def refresh(run: RunDir) -> dict:
    """The run's status, marking it failed (with the log's last lines) if its worker died unseen."""
    status = run.read_status()
    if status.get("state") in ACTIVE_STATES and status.get("pid") and not is_worker_alive(status["pid"]):
        # give a worker that has just been launched a moment to appear in /proc
        if time.time() - status.get("updated", 0) > 2:
            checkpoint = run.latest_checkpoint()
            resume_from = f"; Resume continues from {checkpoint.name}" if checkpoint else ""
            run.write_status("failed", message=f"the worker process died unexpectedly{resume_from}",
                             log_tail=log_tail(run))
            status = run.read_status()
    return status


def _should_stop_factory(run: RunDir):
    state = {"paused": False}

    def should_stop() -> bool:
        while (command := read_command(run)) == "pause":
            if not state["paused"]:
                state["paused"] = True
                run.write_status("paused", message="paused; the run keeps its state in memory")
            time.sleep(0.5)
        if state["paused"]:
            state["paused"] = False
            run.write_status("running", message="")
        return command == "stop"

    return should_stop


def main(argv: list[str] | None = None) -> int:
    from gan_art.training import load_run_config, train

    run = RunDir((argv or sys.argv[1:])[0])
    try:
        cfg = load_run_config(run.path)
        if cfg.threads:
            os.environ["OMP_NUM_THREADS"] = str(cfg.threads)
        train(cfg, should_stop=_should_stop_factory(run), resume=True)
    except Exception as exc:  # the app shows this message; the traceback goes to worker.log
        traceback.print_exc()
        sys.stdout.flush()
        try:
            run.write_status("failed", message=f"{type(exc).__name__}: {exc}", log_tail=log_tail(run))
        except OSError:
            pass  # a full disk: the app reports the dead worker from its side
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
