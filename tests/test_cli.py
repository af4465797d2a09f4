"""The command line end to end as a user would run it: in subprocesses where the process itself matters (exit
codes, signals, a run found from another process) or once per command, else through ``main`` in this process,
which saves a torch import (seconds on a 2-core machine) per call."""
import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from gan_art.__main__ import build_parser, main
from gan_art.rundir import RunDir, step_of
from tests.conftest import REPO

TINY = ["--resolution", "16", "--z-dim", "8", "--w-dim", "8", "--mapping-layers", "2", "--width", "4",
        "--max-channels", "8", "--batch-size", "4", "--metrics-every", "2", "--sample-every", "2",
        "--checkpoint-every", "2", "--precision", "fp32", "--threads", "1"]


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_art", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_train_then_generate_is_reproducible(image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    result = run_cli("train", "--data", image_folder, "--out", run, "--steps", 4, *TINY)
    assert result.returncode == 0, result.stderr
    assert "step 4/4" in result.stdout
    checkpoint = run / "checkpoints" / "step-000000004"
    result = run_cli("generate", "--checkpoint", checkpoint, "--seeds", "0-2,7", "--out", tmp_path / "a",
                     "--truncation", "0.7")
    assert result.returncode == 0, result.stderr
    assert main(["generate", "--checkpoint", str(checkpoint), "--seeds", "0-2,7", "--out", str(tmp_path / "b"),
                 "--truncation", "0.7"]) == 0  # another process: the same pictures
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["seed000000.png", "seed000001.png", "seed000002.png", "seed000007.png"]
    assert [digest(tmp_path / "a" / n) for n in names] == [digest(tmp_path / "b" / n) for n in names]
    assert len({digest(tmp_path / "a" / n) for n in names}) == 4

    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "6"]) == 0
    printed = capsys.readouterr().out
    assert "step 6/6" in printed and "step 2/" not in printed

    # a shipped export with its training state continues in a new run at the same step
    shipped = tmp_path / "shipped"
    assert main(["export", "--checkpoint", str(run / "checkpoints" / "step-000000006"), "--out", str(shipped),
                 "--with-training-state"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume-from", str(shipped), "--out", str(tmp_path / "next"), "--steps", "8"]) == 0
    printed = capsys.readouterr().out
    assert "step 8/8" in printed and "step 6/8" not in printed

    # fine-tuning it on other images with the transfer recipe: a new run from step 0 at the parent's size
    # (these two in this process: the subprocess path is the same command's, run above)
    assert main(["train", "--start-from", str(shipped), "--data", str(image_folder), "--out", str(tmp_path / "tuned"),
                 "--steps", "2", "--batch-size", "4", "--metrics-every", "1", "--precision", "fp32"]) == 0
    assert "step 2/2" in capsys.readouterr().out
    tuned = json.loads((tmp_path / "tuned" / "train_config.json").read_text())
    assert tuned["init_from"] == str(shipped) and tuned["freeze_d"] > 0 and tuned["feature_d"] > 0
    assert main(["train", "--start-from", str(shipped), "--data", str(image_folder), "--out", str(tmp_path / "x"),
                 "--resolution", "32"]) == 2
    assert "cannot start from shipped: its architecture differs" in capsys.readouterr().err


def test_user_errors_are_one_line_messages(image_folder, tmp_path, capsys):
    assert main(["generate", "--checkpoint", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error:") and "Traceback" not in error
    result = run_cli("train", "--data", tmp_path / "nothing", "--out", tmp_path / "run", *TINY)
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert main(["train", "--data", str(image_folder), "--out", str(tmp_path / "run"), "--arch", "nope"]) == 2
    assert "unknown arch" in capsys.readouterr().err


def test_internal_errors_say_so_and_debug_shows_the_traceback(monkeypatch, capsys, tmp_path):
    def bug(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("gan_art.__main__.parse_seeds", bug)
    argv = ["generate", "--checkpoint", str(REPO / "checkpoints" / "faces"), "--out", str(tmp_path)]
    assert main(argv) == 1
    assert "internal error (KeyError" in capsys.readouterr().err
    with pytest.raises(KeyError):
        main(["--debug", *argv])


@pytest.mark.skipif(sys.platform != "linux", reason="gloo on CPU is tested on Linux")
def test_two_process_data_parallel_training_with_gloo(image_folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "gan_art", "train", "--data", str(image_folder), "--out", str(tmp_path / "run"),
               "--steps", "4", "--device", "cpu", *map(str, TINY)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "step-000000004" / "generator.safetensors").is_file()
    assert result.stdout.count("step 4/4") == 1 and result.stdout.count("checkpoint:") == 1  # rank 0 only


def wait_until(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return value


def test_runs_list_and_stop_find_a_cli_run_started_elsewhere(image_folder, tmp_path, capsys):
    run = tmp_path / "somewhere" / "cli-run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen([sys.executable, "-m", "gan_art", "train", "--data", str(image_folder), "--out",
                                str(run), "--steps", "100000", *map(str, TINY)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: RunDir(run).read_status().get("step", 0) >= 4)
        no_app_runs = str(tmp_path / "no-app-runs")
        assert main(["runs", "list", "--runs-dir", no_app_runs]) == 0
        line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cli-run"))
        assert "running" in line and str(trainer.pid) in line and str(run) in line
        assert main(["runs", "stop", "cli-run", "--runs-dir", no_app_runs]) == 0
        assert "cli-run: stopped at step" in capsys.readouterr().out
        assert trainer.wait(60) == 0
        assert "stopped on request" in trainer.stdout.read()
        status = RunDir(run).read_status()
        assert status["state"] == "stopped" and step_of(RunDir(run).latest_checkpoint()) == status["step"]
        assert main(["runs", "list", "--runs-dir", no_app_runs]) == 0
        assert "cli-run" not in capsys.readouterr().out
    finally:
        trainer.kill()
        trainer.wait()


def test_sigterm_stops_a_cli_run_at_a_checkpoint(image_folder, tmp_path):
    run = tmp_path / "run"
    trainer = subprocess.Popen([sys.executable, "-m", "gan_art", "train", "--data", str(image_folder), "--out",
                                str(run), "--steps", "100000", *map(str, TINY)], cwd=REPO,
                               env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: RunDir(run).read_status().get("step", 0) >= 4)
        trainer.send_signal(signal.SIGTERM)
        assert trainer.wait(60) == 0
        assert "stopped by SIGTERM" in trainer.stdout.read()
        assert step_of(RunDir(run).latest_checkpoint()) == RunDir(run).read_status()["step"]
    finally:
        trainer.kill()
        trainer.wait()


def test_every_flag_of_every_command_says_what_it_does(capsys):
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help and len(action.help) > 15, f"{name} {action.option_strings or action.dest}"
    for command in ("train", "train-repair"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "forward-pass autocast: \"auto\" (fastest measured on this machine)" in text and "(default: 'auto')" in text
    assert "--max-zoom FLOAT" in text and "holes filled at full size) (default: 1.0)" in text


def test_stylize_keeps_the_photos_size_unless_asked(tmp_path):
    Image.new("RGB", (200, 150), (120, 80, 60)).save(tmp_path / "photo.png")
    common = ["stylize", "--content", str(tmp_path / "photo.png"), "--style", "udnie"]
    assert main([*common, "--out", str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").size == (200, 150)
    assert main([*common, "--out", str(tmp_path / "b.png"), "--size", "400"]) == 0
    assert Image.open(tmp_path / "b.png").size == (400, 300)
