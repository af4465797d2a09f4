"""Training in a separate process, so a crash, an out-of-memory error or ``kill -9`` never takes the app down.

The run directory is the protocol (see :mod:`gan_art.rundir`): the app writes ``train_config.json``
and ``control.json`` ({"command": "run" | "pause" | "stop"}); the worker writes status, metrics,
sample grids and checkpoints. Either side can restart at any time and pick up from the files.

A worker belongs to the app that started it: when the app exits (Ctrl-C, SIGTERM, or even ``kill -9``,
noticed because the worker's parent process changes) the worker writes a checkpoint and stops, and the
restarted app offers Resume. SIGTERM or SIGINT sent to the worker itself do the same.

    python -m gan_art.worker RUN_DIR      # what the app launches; resumes from the newest checkpoint
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from gan_art.paths import REPO
from gan_art.rundir import ACTIVE_STATES, RunDir, register_process
from gan_art.training import load_run_config, train

LOG_TAIL_LINES = 15
NICENESS_VARIABLE = "GAN_ART_WORKER_NICENESS"  # 0: the worker competes with the app as an equal (the tests do)
NICENESS = 10


def is_worker_alive(pid: int | None) -> bool:
    """True if ``pid`` is a live gan_art training process (a recycled pid running something else does not count)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return b"gan_art" in cmdline and stat.split(")")[-1].split()[0] != "Z"


def log_tail(run: RunDir, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(run.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def in_background(command: list[str]) -> list[str]:
    """``command`` at a lower CPU priority (where POSIX `nice` exists): it gets every core the app is not using,
    and the app (Explore, Repair, the live view) still answers at once."""
    niceness = int(os.environ.get(NICENESS_VARIABLE, NICENESS))
    nice = shutil.which("nice")
    return [nice, "-n", str(niceness), *command] if nice and niceness else command


def launch(run: RunDir, threads: int = 0, on_exit: Callable[[int], None] | None = None) -> subprocess.Popen:
    """Start a worker process for ``run``; a thread waits for it (so it never lingers as a zombie) and then
    calls ``on_exit(returncode)``."""
    run.send("run")
    run.write_status("starting", message="starting the worker process", pid=None)
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with open(run.log_file, "ab") as log:
        # a session of its own: Ctrl-C in the app's terminal reaches the app, which then stops the worker cleanly
        command = in_background([sys.executable, "-m", "gan_art.worker", str(run.path)])
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    run.write_status("starting", message="starting the worker process", pid=process.pid)

    def reap() -> None:
        returncode = process.wait()
        if on_exit is not None:
            on_exit(returncode)

    threading.Thread(target=reap, name=f"reap-{run.name}", daemon=True).start()
    return process


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


class StopRequests:
    """``should_stop`` for :func:`gan_art.training.train`: the run's control file (pause waits here, stop
    returns True), SIGTERM/SIGINT, and, with ``watch_parent``, the process that started us going away."""

    def __init__(self, run: RunDir, watch_parent: bool = False) -> None:
        self.run = run
        self.parent = os.getppid() if watch_parent else None
        self.reason = ""
        self.paused = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame) -> None:
        self.reason = f"stopped by {signal.Signals(signum).name}"

    def _check(self) -> str:
        if self.reason:
            return self.reason
        if self.parent is not None and os.getppid() != self.parent:
            return "stopped because the app that started it exited"
        return "stopped on request" if self.run.command() == "stop" else ""

    def __call__(self) -> bool:
        while not self._check() and self.run.command() == "pause":
            if not self.paused:
                self.paused = True
                self.run.write_status("paused", message="paused; the run keeps its state in memory")
            time.sleep(0.5)
        if self.paused:
            self.paused = False
            self.run.write_status("running", message="")
        self.reason = self._check()
        return bool(self.reason)


def main(argv: list[str] | None = None) -> int:
    run = RunDir((argv or sys.argv[1:])[0])
    try:
        cfg = load_run_config(run.path)
        if cfg.threads:
            os.environ["OMP_NUM_THREADS"] = str(cfg.threads)
        stop = StopRequests(run, watch_parent=True)
        with register_process(run, "worker"):
            train(cfg, should_stop=stop, resume=True)
        if stop.reason:
            checkpoint = run.latest_checkpoint()
            where = f"; Resume continues from {checkpoint.name}" if checkpoint else ""
            run.write_status("stopped", message=f"{stop.reason}{where}")
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
