"""Shared fixtures: tiny models and tiny procedurally drawn datasets, CPU only.

Every process the tests start inherits a marker in its environment; at the end of the session any such
process still alive (a training worker, an app, a browser) is killed and the run fails, so no test
leaves work running behind it. The tests also get a cache of their own (precision probes, the registry
of training processes) instead of the user's.

The suite runs in two pytest-xdist workers (pyproject's addopts): much of it waits on processes it starts (an
app, a browser, a CLI command importing torch), so one core idles in a single process. Each worker is a session
of its own here (marker, cache, app) with one torch thread, so that two of them share two cores without
oversubscribing them.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import torch

from gan_art.config import ModelConfig, TrainConfig
from gan_art.devtools import AppServer, draw_image
from gan_art.paths import REPO  # noqa: F401  (tests import it from here)
from gan_art.worker import NICENESS_VARIABLE

SESSION_MARKER = ("GAN_ART_TEST_SESSION", uuid.uuid4().hex)
os.environ[SESSION_MARKER[0]] = SESSION_MARKER[1]
TEST_CACHE = tempfile.mkdtemp(prefix="gan-art-test-cache-")
os.environ["GAN_ART_CACHE"] = TEST_CACHE
LEFTOVER_GRACE_S = 20.0  # processes asked to stop at the end of a test may take a step or two to exit

# the training workers the apps start compete as equals: at the lower priority users get, they would wait on
# the other pytest worker's tests (tests/test_runs.py checks that priority itself)
os.environ[NICENESS_VARIABLE] = "0"
IN_WORKER = "PYTEST_XDIST_WORKER" in os.environ
if IN_WORKER:
    os.environ["OMP_NUM_THREADS"] = "1"  # and the processes the tests start
torch.set_num_threads(1 if IN_WORKER else min(2, torch.get_num_threads()))


def processes_started_by_tests() -> dict[int, str]:
    """pid -> command line of every live process carrying this session's marker (not pytest itself)."""
    marker = f"{SESSION_MARKER[0]}={SESSION_MARKER[1]}".encode()
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        if int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except OSError:  # gone, or not ours to read
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def no_process_left_running():
    """After a session's last test (and the teardown of its app): any process it started that is still alive is
    killed, and the session fails (an error in a fixture, so that an xdist worker reports it too)."""
    yield
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while (leftovers := processes_started_by_tests()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if leftovers:
        lines = "\n".join(f"  {pid}: {cmd}" for pid, cmd in leftovers.items())
        pytest.fail(f"{len(leftovers)} process(es) started by the tests were still running {LEFTOVER_GRACE_S:.0f} s "
                    f"after the last test; killed them:\n{lines}")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The real app (python app.py) on a free port, shared by the tests (one start: the suite must stay fast on
    2 cores), with its own runs and outputs folders."""
    server = AppServer(tmp_path_factory.mktemp("app"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(app):
    return app.client()


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(24):
        draw_image(i).save(folder / f"img{i:02d}.png")
    return folder


def tiny_model(arch: str = "stylegan") -> ModelConfig:
    if arch == "dcgan":
        return ModelConfig(arch="dcgan", resolution=16, z_dim=8, w_dim=8, width=4)
    return ModelConfig(arch="stylegan", resolution=16, z_dim=8, w_dim=8, mapping_layers=2, width=4, max_channels=8)


def tiny_train_config(data: Path, out: Path, arch: str = "stylegan", **overrides) -> TrainConfig:
    values = dict(data=str(data), out=str(out), model=tiny_model(arch), steps=6, batch_size=4,
                  sample_every=3, sample_grid=2, checkpoint_every=3, metrics_every=2, r1_interval=2,
                  precision="fp32", threads=1)
    values.update(overrides)
    return TrainConfig(**values)
