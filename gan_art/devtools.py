"""Helpers shared by the tests and the benchmarks: the real app on a free port, test pictures, timings.

Not used by the app itself; here so that ``benchmarks/`` and ``tests/`` import one installed package
instead of each other.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gan_art.paths import REPO

EXPLORE_SLIDER = "/explore_slider"  # the event every Explore slider move sends (undocumented, but callable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python app.py`` in a subprocess, with its own runs and outputs folders under ``tmp``; ``url`` once it
    answers HTTP. ``threads`` caps torch's threads in the app and its training workers (None: torch's default,
    as a user runs it)."""

    def __init__(self, tmp: Path, *extra: str, threads: int | None = 1, start_timeout: float = 120.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tmp / "app.log"
        self.runs_root = tmp / "runs"
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        if threads is not None:
            env.setdefault("OMP_NUM_THREADS", str(threads))
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(self.port), "--runs-dir", str(self.runs_root),
             "--outputs-dir", str(tmp / "outputs"), *extra],
            cwd=REPO, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited early:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"app did not start in {start_timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def client(self, **options):
        """A gradio_client.Client of this app. ``ssl_verify=False``: on its http:// URL nothing is encrypted,
        and otherwise every request builds a TLS context from the CA bundle (~60 ms of CPU each here)."""
        from gradio_client import Client  # here, not at the top: benchmarks run on a GPU machine without Gradio

        return Client(self.url, verbose=False, ssl_verify=False, **options)

    def stop(self) -> None:
        """Terminate the app as a user's SIGTERM would (it stops its training workers first)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until(predicate, timeout: float, interval: float = 0.25):
    """``predicate()``'s first truthy value, polled every ``interval`` seconds; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError


def draw_image(seed: int, size: int = 24) -> Image.Image:
    """A small random picture: background colour plus an ellipse, like a very abstract face."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    x0, y0 = rng.integers(0, size // 2, 2)
    draw.ellipse([int(x0), int(y0), int(x0) + size // 2, int(y0) + size // 2],
                 fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return img


def percentiles(seconds: list[float]) -> dict:
    """p50 and p95 in milliseconds."""
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1)}


UPSCALE_LABEL = "Sharp faces (2x upscaler)"  # the label of Explore's switch (gan_art.ui.explore)


def slider_args(client, values: dict) -> list:
    """Positional arguments of the Explore slider event, from control labels ("Seed", "PC1", ...); every
    other control keeps the value the page starts with."""
    config = client.config
    dependency = next(d for d in config["dependencies"] if d.get("api_name") == EXPLORE_SLIDER.lstrip("/"))
    components = {c["id"]: c for c in config["components"]}
    args = []
    for component_id in dependency["inputs"]:
        component = components[component_id]
        if component["type"] == "state":  # gradio_client fills state in itself
            continue
        label = component["props"].get("label")
        args.append(values[label] if label in values else component["props"].get("value"))
    return args


def time_explore_slider(url: str, checkpoint: str = "faces", updates: int = 60, upscale: bool = True,
                        **client_options) -> list[float]:
    """Seconds per Explore slider move (PC1 from -3 to 3) through gradio_client, after one warm-up; ``upscale``
    sets Explore's sharp-faces switch (128 px faces from a checkpoint with an upscaler)."""
    from gradio_client import Client  # here, not at the top: benchmarks run on a GPU machine without Gradio

    client = Client(url, verbose=False, **client_options)
    settings = {"Checkpoint": checkpoint, "Seed": 7, UPSCALE_LABEL: upscale}
    client.predict(*slider_args(client, settings), api_name=EXPLORE_SLIDER)
    seconds = []
    for i in range(updates):
        pc1 = round(-3 + 6 * i / max(updates - 1, 1), 1)
        args = slider_args(client, {**settings, "PC1": pc1})
        start = time.perf_counter()
        client.predict(*args, api_name=EXPLORE_SLIDER)
        seconds.append(time.perf_counter() - start)
    return seconds
