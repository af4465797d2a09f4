"""Faults: processes killed while writing checkpoints, an app killed mid-run, a full disk."""
from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan_art.checkpoints import load_generator, recover_checkpoints, write_checkpoint
from gan_art.config import to_dict
from gan_art.devtools import AppServer
from gan_art.errors import CheckpointError
from gan_art.models import build_generator
from gan_art.rundir import RunDir, step_of
from tests.conftest import REPO, tiny_model, tiny_train_config

WRITER = """
import os, sys, torch
from gan_art.checkpoints import write_checkpoint
from gan_art.config import ModelConfig, to_dict
from gan_art.models import build_generator
cfg = ModelConfig(resolution=64, z_dim=64, w_dim=64, width=16, max_channels=128)
G = build_generator(cfg)
state = {f"x{i}": torch.randn(256, 1024) for i in range(8)}  # ~8 MB per write, so kills land mid-write
for _ in sys.stdin:  # one writer per line, forked so that torch is imported once
    child = os.fork()
    if child == 0:
        for step in range(10**6):
            write_checkpoint(f"{sys.argv[1]}/step-{step % 3:09d}", {"model": to_dict(cfg), "step": step}, G,
                             training_state=state)
            if step == 0:
                print("writing", os.getpid(), flush=True)
    os.waitpid(child, 0)
    print("killed", flush=True)
"""


def test_kill_9_during_checkpoint_writes_never_leaves_a_half_checkpoint(tmp_path):
    rng = random.Random(0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    writers = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for attempt in range(4):
            writers.stdin.write("write\n")
            writers.stdin.flush()
            said, pid = writers.stdout.readline().split()
            assert said == "writing"  # kill while it writes, not while it imports torch
            time.sleep(rng.uniform(0.0, 0.8))
            os.kill(int(pid), signal.SIGKILL)
            assert writers.stdout.readline() == "killed\n"
            recover_checkpoints(tmp_path)
            for folder in tmp_path.iterdir():
                assert not folder.name.startswith("."), f"attempt {attempt}: left {folder.name}"
                load_generator(folder)  # complete or absent, never half-written
    finally:
        writers.stdin.close()
        writers.wait(30)


def test_full_disk_keeps_the_previous_checkpoint_and_says_so(tmp_path, monkeypatch):
    cfg = tiny_model()
    G = build_generator(cfg)
    write_checkpoint(tmp_path / "ckpt", {"model": to_dict(cfg), "step": 1}, G)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("gan_art.checkpoints.save_file", no_space)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is kept"):
        write_checkpoint(tmp_path / "ckpt", {"model": to_dict(cfg), "step": 2}, G)
    monkeypatch.undo()
    assert load_generator(tmp_path / "ckpt").config["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_training_on_a_real_full_tmpfs_fails_clearly(image_folder, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        from gan_art.errors import TrainingError
        from gan_art.training import train

        cfg = tiny_train_config(image_folder, mount / "run", steps=400, checkpoint_every=1, sample_every=10**6)
        with pytest.raises((CheckpointError, TrainingError), match="No space left on device"):
            train(cfg)
        run = RunDir(mount / "run")
        assert run.latest_checkpoint() is not None  # the last one that fitted is intact
        load_generator(run.latest_checkpoint())
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def start_tiny_run(server: AppServer, name: str) -> RunDir:
    client = server.client()
    client.predict(resolution=16, batch_size=8, steps=100_000, precision="fp32", name=name, api_name="/train_start")
    run = RunDir(server.runs_root / name)
    deadline = time.monotonic() + 120
    while run.read_status().get("step", 0) < 10:
        assert time.monotonic() < deadline, run.read_status()
        time.sleep(0.5)
    return run


def wait_stopped(run: RunDir, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while (status := run.read_status()).get("state") != "stopped":
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
    return status


def test_app_exit_stops_its_training_at_a_checkpoint_and_resume_continues(tmp_path):
    """Ctrl-C, or even kill -9, of the app: its worker writes a checkpoint and stops, nothing keeps running, and
    the restarted app resumes the run at its step (SIGTERM runs the same handler as Ctrl-C)."""
    server = AppServer(tmp_path)
    try:
        run = start_tiny_run(server, "interrupted")
        worker = run.read_status()["pid"]
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(60) == 0
        status = wait_stopped(run, timeout=1)  # already stopped when the app has exited
        assert not worker_alive(worker) and "Resume continues" in status["message"]
        assert step_of(run.latest_checkpoint()) == status["step"] > 0
        server = AppServer(tmp_path)  # same runs folder: the run is listed as stopped, Resume continues it
        client = server.client()
        assert client.predict(run="interrupted", api_name="/train_status")["state"] == "stopped"
        client.predict(run="interrupted", command="resume", api_name="/train_control")
        deadline = time.monotonic() + 120
        while run.read_status().get("step", 0) <= status["step"] or run.read_status().get("state") != "running":
            assert time.monotonic() < deadline, run.read_status()
            time.sleep(0.3)
        worker = run.read_status()["pid"]
        server.process.send_signal(signal.SIGKILL)  # no chance to clean up: the worker notices on its own
        server.process.wait()
        killed = wait_stopped(run)
        assert "app that started it exited" in killed["message"] and not worker_alive(worker, wait_s=10)
        assert step_of(run.latest_checkpoint()) == killed["step"] > status["step"]
    finally:
        server.stop()


def worker_alive(pid: int, wait_s: float = 0.0) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            alive = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            alive = False
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.2)


def test_tiny_model_fixture_is_cheap():
    assert sum(p.numel() for p in build_generator(tiny_model()).parameters()) < 20_000
