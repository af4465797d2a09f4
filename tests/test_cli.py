"""The command line end to end, in subprocesses, as a user would run it."""
import hashlib
import os
import subprocess
import sys

import pytest

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


def test_train_then_generate_is_reproducible(image_folder, tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", "--data", image_folder, "--out", run, "--steps", 4, *TINY)
    assert result.returncode == 0, result.stderr
    assert "step 4/4" in result.stdout
    checkpoint = run / "checkpoints" / "step-000000004"
    for out in ("a", "b"):
        result = run_cli("generate", "--checkpoint", checkpoint, "--seeds", "0-2,7", "--out", tmp_path / out,
                         "--truncation", "0.7")
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["seed000000.png", "seed000001.png", "seed000002.png", "seed000007.png"]
    assert [digest(tmp_path / "a" / n) for n in names] == [digest(tmp_path / "b" / n) for n in names]
    assert len({digest(tmp_path / "a" / n) for n in names}) == 4

    result = run_cli("train", "--resume", run, "--steps", 6)
    assert result.returncode == 0, result.stderr
    assert "step 6/6" in result.stdout and "step 2/" not in result.stdout

    # a shipped export with its training state continues in a new run at the same step
    shipped = tmp_path / "shipped"
    result = run_cli("export", "--checkpoint", run / "checkpoints" / "step-000000006", "--out", shipped,
                     "--with-training-state")
    assert result.returncode == 0, result.stderr
    result = run_cli("train", "--resume-from", shipped, "--out", tmp_path / "next", "--steps", 8)
    assert result.returncode == 0, result.stderr
    assert "step 8/8" in result.stdout and "step 6/8" not in result.stdout


def test_user_errors_are_one_line_messages(image_folder, tmp_path):
    result = run_cli("generate", "--checkpoint", tmp_path / "missing", "--out", tmp_path / "x")
    assert result.returncode == 2 and result.stderr.startswith("error:") and "Traceback" not in result.stderr
    result = run_cli("train", "--data", tmp_path / "nothing", "--out", tmp_path / "run", *TINY)
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = run_cli("train", "--data", image_folder, "--out", tmp_path / "run", "--arch", "nope")
    assert result.returncode == 2 and "unknown arch" in result.stderr


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
