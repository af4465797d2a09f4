"""Explore slider latency: one update through gradio_client against the running app vs the generator call alone.

    python benchmarks/explore_latency.py [--updates 100] [--threads 2]

Starts ``python app.py`` on a free port (the real app, shipped checkpoint), moves the PC1 slider
``--updates`` times through the /render endpoint, and times the same recipes through the generator
alone in this process. Prints one JSON line: p50/p95 of both (ms) and their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NUM_SLIDERS = 2 + 12 + 6 + 8
PC1 = 7 + 2


def percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1)}


def slider_values(n: int) -> list[float]:
    return [round(-3 + 6 * i / max(n - 1, 1), 1) for i in range(n)]


def time_app(url: str, checkpoint: str, updates: int) -> list[float]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    args = [checkpoint, 7, 0.7, "all", False, 1, "fine"] + [0.0] * NUM_SLIDERS
    client.predict(*args, api_name="/render")  # warm-up
    seconds = []
    for value in slider_values(updates):
        args[PC1] = value
        start = time.perf_counter()
        client.predict(*args, api_name="/render")
        seconds.append(time.perf_counter() - start)
    return seconds


def time_generator(checkpoint: str, updates: int, threads: int) -> list[float]:
    import torch

    from gan_art.explore import Recipe
    from gan_art.studio import Studio

    torch.set_num_threads(threads)
    studio = Studio()
    studio.render(Recipe(checkpoint=checkpoint, seed=7))
    seconds = []
    for value in slider_values(updates):
        start = time.perf_counter()
        studio.render(Recipe(checkpoint=checkpoint, seed=7, directions={"PC1": value}))
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--checkpoint", default="faces")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, in the app and here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from tests.app_server import AppServer

    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp), "--checkpoint", args.checkpoint)
        try:
            app_seconds = time_app(server.url, args.checkpoint, args.updates)
        finally:
            server.stop()
    generator_seconds = time_generator(args.checkpoint, args.updates, args.threads)
    app, generator = percentiles(app_seconds), percentiles(generator_seconds)
    print(json.dumps({"benchmark": "explore_latency", "checkpoint": args.checkpoint, "updates": args.updates,
                      "threads": args.threads, "app_slider_update": app, "generator_call": generator,
                      "p50_ratio_app_vs_generator": round(app["p50_ms"] / generator["p50_ms"], 2)}))


if __name__ == "__main__":
    main()
