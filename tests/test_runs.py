"""Runs started the way the app starts them: worker processes, queue, control, kill -9, uploads."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from functools import partial

import pytest

from gan_art import worker
from gan_art.checkpoints import load_generator
from gan_art.devtools import draw_image, wait_until
from gan_art.errors import DatasetError, RunError
from gan_art.rundir import RunDir, step_of
from gan_art.runs import RunManager, TrainRequest, app_config, preview_dataset, stage_files
from tests.conftest import REPO


def tiny(data, **overrides):
    values = dict(arch="stylegan", resolution=16, batch_size=4, steps=400, seed=0, device="cpu", precision="fp32")
    values.update(overrides)
    cfg = app_config(str(data), TrainRequest(**values))
    return replace(cfg, threads=1, checkpoint_every=10, sample_every=5, metrics_every=5)


wait_for = partial(wait_until, timeout=120.0, interval=0.2)


@pytest.fixture
def manager(tmp_path):
    manager = RunManager(tmp_path / "runs")
    yield manager
    manager.shutdown(timeout=30)


def test_worker_trains_pauses_resumes_and_stops(manager, image_folder, monkeypatch):
    monkeypatch.delenv(worker.NICENESS_VARIABLE)  # as users run it (tests/conftest.py sets 0)
    name = manager.create(tiny(image_folder), "run1")
    wait_for(lambda: manager.view(name).status.get("step", 0) >= 10)
    if hasattr(os, "getpriority"):  # it trains on every core, below the app's priority
        ours, pid = os.getpriority(os.PRIO_PROCESS, 0), manager.view(name).status["pid"]
        assert os.getpriority(os.PRIO_PROCESS, pid) > ours or ours == 19  # 19: the lowest there is
    manager.control(name, "pause")
    wait_for(lambda: manager.view(name).status.get("state") == "paused")
    paused_at = manager.view(name).status["step"]
    time.sleep(1.0)
    assert manager.view(name).status["step"] == paused_at
    manager.control(name, "resume")
    wait_for(lambda: manager.view(name).status.get("step", 0) > paused_at)
    manager.control(name, "stop")
    view = wait_for(lambda: (v := manager.view(name)).status.get("state") == "stopped" and v)
    assert len(view.grids) >= 2 and view.checkpoint is not None
    assert step_of(view.checkpoint) == view.status["step"]


def test_one_run_at_a_time_the_next_waits_in_the_queue(manager, image_folder, tmp_path):
    first = manager.create(tiny(image_folder), "first")
    (tmp_path / "uploads").mkdir()
    uploads = [tmp_path / "uploads" / f"photo {i}.png" for i in range(6)]
    for i, path in enumerate(uploads):
        draw_image(i).save(path)
    second = manager.create(tiny(""), "second", data_files=uploads)
    assert manager.view(second).status["state"] == "queued"
    # the uploaded images are the queued run's own copies, under names of its choosing
    data = manager.root / second / "data"
    assert sorted(p.name for p in data.iterdir()) == [f"{i:05d}.png" for i in range(6)]
    manager.control(first, "stop")
    wait_for(lambda: manager.view(first).status.get("state") == "stopped")
    # the queue advances when the first worker exits, with nobody polling
    wait_for(lambda: manager.view(second).status.get("state") in ("running", "starting"))
    manager.control(second, "stop")
    wait_for(lambda: manager.view(second).status.get("state") == "stopped")


def test_kill_9_never_leaves_an_unreadable_checkpoint_and_resume_keeps_the_step(manager, image_folder):
    name = manager.create(tiny(image_folder, steps=10_000), "killed")
    run = RunDir(manager.root / name)
    wait_for(lambda: run.latest_checkpoint() is not None and worker_pid(run))
    time.sleep(random.Random(0).uniform(0.2, 2.0))
    killed = worker_pid(run)
    os.kill(killed, signal.SIGKILL)
    view = wait_for(lambda: (v := manager.view(name)).status.get("state") == "failed" and v)
    assert "died" in view.status["message"]
    for checkpoint in run.checkpoints():
        load_generator(checkpoint)  # every checkpoint on disk is complete (tests/test_faults.py kills mid-write)
    saved = step_of(run.latest_checkpoint())
    resumed_at = time.time()
    manager.control(name, "resume")
    # the new worker's own steps: until it reports, the status and metrics still hold the killed one's last steps
    wait_for(lambda: (worker_pid(run) or killed) != killed and manager.view(name).status.get("step", 0) > saved)
    steps_since = [m["step"] for m in run.read_metrics() if m["time"] > resumed_at]
    assert steps_since and min(steps_since) > saved  # continued from the saved step, not from 0
    manager.control(name, "stop")


def worker_pid(run):
    status = run.read_status()
    return status.get("pid") if status.get("state") == "running" else None


def test_bad_uploads_give_clear_messages_and_nothing_escapes(tmp_path, image_folder):
    def make_zip(name, entries):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for entry, data in entries.items():
                z.writestr(entry, data)
        return path

    png = (image_folder / "img00.png").read_bytes()
    cases = {
        "empty.zip": make_zip("empty.zip", {}),
        "text.zip": make_zip("text.zip", {"a.txt": "hello", "b.csv": "1,2"}),
        "evil.zip": make_zip("evil.zip", {"../../escape.png": png, "/abs/x.png": png}),
        "bomb.zip": make_zip("bomb.zip", {"huge.png": b"\0" * (40 * 2**20)}),
    }
    zero = tmp_path / "zero.png"
    zero.write_bytes(b"")
    before = {p for p in tmp_path.parent.rglob("*") if "staged" not in str(p)}
    for name, path in {**cases, "zero.png": zero}.items():
        staged = stage_files([path], tmp_path / "staged" / name)
        with pytest.raises(DatasetError, match="no usable images"):
            preview_dataset(staged)
    after = {p for p in tmp_path.parent.rglob("*") if "staged" not in str(p)}
    assert after == before
    mixed = [image_folder / f"img{i:02d}.png" for i in range(5)] + [zero]
    preview = preview_dataset(stage_files(mixed, tmp_path / "staged" / "mixed"))
    assert preview.num_images == 5 and sum(preview.skipped.values()) == 1
    with pytest.raises(DatasetError, match="not a mix"):
        stage_files([cases["evil.zip"], zero], tmp_path / "staged" / "both")


def test_run_names_and_missing_data_are_refused(manager, image_folder, tmp_path):
    for bad in ("../x", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(RunError):
            manager.create(tiny(image_folder), bad)
    with pytest.raises(DatasetError, match="does not exist"):
        manager.create(tiny(tmp_path / "nowhere"), "nodata")
    assert manager.names() == []
    with pytest.raises(RunError, match="no run named"):
        manager.view("../../etc")


def test_promote_names_cannot_escape_the_checkpoints_folder(manager, image_folder, tmp_path):
    name = manager.create(tiny(image_folder, steps=10), "promotable")
    wait_for(lambda: manager.view(name).status.get("state") == "finished")
    target_root = tmp_path / "checkpoints"
    for bad in ("../escape", "/etc/x", "a/b", "", ".."):
        with pytest.raises(RunError):
            manager.promote(name, target_root, bad)
    promoted = manager.promote(name, target_root, "my-faces")
    assert promoted == target_root / "my-faces" and (promoted / "MODEL_CARD.md").is_file()
    load_generator(promoted)
    with pytest.raises(RunError, match="already exists"):
        manager.promote(name, target_root, "my-faces")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints", "images", "runs"]


def test_two_processes_sending_commands_to_one_run_at_once_both_succeed(tmp_path):
    # the ranks of a torchrun run both send "run" to the same control.json as they start
    writer = ("import sys, time; from gan_art.rundir import RunDir; run = RunDir(sys.argv[1])\n"
              "print('ready', flush=True); sys.stdin.readline(); end = time.time() + 1.0\n"
              "while time.time() < end: run.send('run')")
    writers = [subprocess.Popen([sys.executable, "-c", writer, str(tmp_path)], cwd=REPO, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for w in writers:  # both imported, then both write during the same second
        assert w.stdout.readline() == "ready\n"
    for w in writers:
        w.stdin.write("go\n")
        w.stdin.flush()
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert json.loads((tmp_path / "control.json").read_text())["command"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["control.json"]
