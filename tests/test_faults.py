"""Faults: processes killed while writing checkpoints, an app killed mid-run, a full disk."""
from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from gan_art.checkpoints import CheckpointError, load_generator, recover_checkpoints, write_checkpoint
from gan_art.config import to_dict
from gan_art.models import build_generator
from gan_art.rundir import RunDir
from tests.app_server import AppServer
from tests.conftest import REPO, tiny_model, tiny_train_config

WRITER = """
import sys, torch
from gan_art.checkpoints import write_checkpoint
from gan_art.config import ModelConfig, to_dict
from gan_art.models import build_generator
cfg = ModelConfig(resolution=64, z_dim=64, w_dim=64, width=16, max_channels=128)
G = build_generator(cfg)
state = {f"x{i}": torch.randn(256, 1024) for i in range(8)}  # ~8 MB per write, so kills land mid-write
for step in range(10**6):
    write_checkpoint(f"{sys.argv[1]}/step-{step % 3:09d}", {"model": to_dict(cfg), "step": step}, G,
                     training_state=state)
"""


def test_kill_9_during_checkpoint_writes_never_leaves_a_half_checkpoint(tmp_path):
    rng = random.Random(0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt in range(20):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO, env=env)
        time.sleep(rng.uniform(1.5, 3.0))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        recover_checkpoints(tmp_path)
        for folder in tmp_path.iterdir():
            assert not folder.name.startswith("."), f"attempt {attempt}: left {folder.name}"
            load_generator(folder)  # complete or absent, never half-written


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
        from gan_art.training import TrainingError, train

        cfg = tiny_train_config(image_folder, mount / "run", steps=400, checkpoint_every=1, sample_every=10**6)
        with pytest.raises((CheckpointError, TrainingError), match="No space left on device"):
            train(cfg)
        run = RunDir(mount / "run")
        assert run.latest_checkpoint() is not None  # the last one that fitted is intact
        load_generator(run.latest_checkpoint())
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_app_killed_mid_run_reattaches_after_restart(tmp_path):
    import gradio_client

    server = AppServer(tmp_path)
    client = gradio_client.Client(server.url, verbose=False)
    args = ["Built-in faces (2,000 UTKFace photos)", None, "", "stylegan", 16, 8, 100_000, 0, 0, 0, True, True, 0,
            "cpu", "survivor"]
    client.predict(*args, api_name="/start")
    run = RunDir(tmp_path / "runs" / "survivor")
    deadline = time.monotonic() + 120
    while run.read_status().get("step", 0) < 10:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    step_at_kill = run.read_status()["step"]
    server = AppServer(tmp_path)  # same runs folder
    try:
        client = gradio_client.Client(server.url, verbose=False)
        deadline = time.monotonic() + 60
        while "running" not in (status := client.predict("survivor", True, api_name="/poll")[0]) or \
                run.read_status()["step"] <= step_at_kill:
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        client.predict("survivor", api_name="/stop")
        deadline = time.monotonic() + 60
        while run.read_status().get("state") != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert load_generator(run.latest_checkpoint()).config["step"] > step_at_kill
    finally:
        pid = run.read_status().get("pid")
        if pid and run.read_status().get("state") == "running":
            os.kill(pid, signal.SIGKILL)
        server.stop()


def test_tiny_model_fixture_is_cheap():
    assert sum(p.numel() for p in build_generator(tiny_model()).parameters()) < 20_000
    assert torch.get_num_threads() >= 1
