"""Explore slider latency, part by part: generator, PNG + HTML, the app's HTTP round trip, and gradio_client.

    python benchmarks/explore_latency.py [--updates 60] [--threads 2] [--checkpoint faces]

Starts ``python app.py`` on a free port (the real app, shipped checkpoint) and moves the PC1 slider
``--updates`` times through the slider's own endpoint (/render, what the page calls):

* ``app_slider_update``: through gradio_client as the README recommends for the local app
  (``ssl_verify=False`` on its http:// URL);
* ``app_slider_update_default_client``: through gradio_client with its defaults, which builds two fresh
  TLS contexts (loading the CA bundle) per call even for http:// (``client_tls_context_ms`` each);
* ``server_round_trip``: the same request over one kept-alive HTTP connection, as a browser sends it
  (queue join + event stream until the result), i.e. the app's own share of the latency;
* ``generator_call`` and ``png_and_html``: the handler's work, timed in this process.

Prints one JSON line with p50/p95 (ms) of each and where it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUM_SLIDERS = 2 + 12 + 6 + 8  # labelled, principal, custom, raw z (see gan_art/ui/explore.py)
PC1 = 7 + 2  # index of the PC1 slider among /render's inputs
STATE_INDEX = 7  # /render's one gr.State input, which gradio_client fills in itself


def percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1)}


def slider_values(n: int) -> list[float]:
    return [round(-3 + 6 * i / max(n - 1, 1), 1) for i in range(n)]


def render_args(checkpoint: str, pc1: float = 0.0) -> list:
    args = [checkpoint, 7, 0.7, "all", False, 1, "fine"] + [0.0] * NUM_SLIDERS
    args[PC1] = pc1
    return args


def time_app(url: str, checkpoint: str, updates: int, **client_options) -> list[float]:
    """Seconds per slider update through gradio_client."""
    from gradio_client import Client

    client = Client(url, verbose=False, **client_options)
    client.predict(*render_args(checkpoint), api_name="/render")  # warm-up
    seconds = []
    for value in slider_values(updates):
        args = render_args(checkpoint, value)
        start = time.perf_counter()
        client.predict(*args, api_name="/render")
        seconds.append(time.perf_counter() - start)
    return seconds


def time_round_trip(url: str, checkpoint: str, updates: int) -> list[float]:
    """Seconds per update over one kept-alive connection: POST queue/join, read the event stream to the result."""
    import httpx
    from gradio_client import Client

    config = Client(url, verbose=False).config
    fn_index = next(i for i, dep in enumerate(config["dependencies"]) if dep.get("api_name") == "render")
    base, session = url + "gradio_api/", uuid.uuid4().hex
    seconds = []
    with httpx.Client(timeout=60) as http:
        for value in [0.0, *slider_values(updates)]:
            args = render_args(checkpoint, value)
            args.insert(STATE_INDEX, [])
            start = time.perf_counter()
            http.post(base + "queue/join", json={"data": args, "fn_index": fn_index, "session_hash": session,
                                                 "event_data": None, "trigger_id": None}).raise_for_status()
            with http.stream("GET", base + "queue/data", params={"session_hash": session}) as response:
                received = b""
                for chunk in response.iter_bytes():
                    received += chunk
                    if b'"process_completed"' in received:
                        break
            if b'"success":true' not in received:
                raise RuntimeError(f"render failed: {received[-300:]!r}")
            seconds.append(time.perf_counter() - start)
    return seconds[1:]  # the first was the warm-up


def time_handler_parts(checkpoint: str, updates: int) -> dict:
    from gan_art.explore import Recipe, png_with_recipe
    from gan_art.studio import Studio
    from gan_art.ui.explore import view_html

    studio = Studio()
    studio.render(Recipe(checkpoint=checkpoint, seed=7))
    generator, encode = [], []
    for value in slider_values(updates):
        start = time.perf_counter()
        image, recipe = studio.render(Recipe(checkpoint=checkpoint, seed=7, directions={"PC1": value}))
        middle = time.perf_counter()
        view_html(png_with_recipe(image, recipe), image.shape[0], recipe)
        generator.append(middle - start)
        encode.append(time.perf_counter() - middle)
    return {"generator_call": percentiles(generator), "png_and_html": percentiles(encode)}


def tls_context_seconds(repeats: int = 10) -> float:
    import httpx

    start = time.perf_counter()
    for _ in range(repeats):
        httpx.Client().close()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60, help="slider moves per measurement")
    parser.add_argument("--checkpoint", default="faces", help="checkpoint name the app opens")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, in the app and here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    from gan_art.machine import machine_info
    from tests.app_server import AppServer

    torch.set_num_threads(args.threads)
    result = {"benchmark": "explore_latency", "checkpoint": args.checkpoint, "updates": args.updates,
              "machine": machine_info()}
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp), "--checkpoint", args.checkpoint, threads=args.threads)
        try:
            result["app_slider_update"] = percentiles(time_app(server.url, args.checkpoint, args.updates,
                                                               ssl_verify=False))
            result["app_slider_update_default_client"] = percentiles(time_app(server.url, args.checkpoint,
                                                                              args.updates))
            result["server_round_trip"] = percentiles(time_round_trip(server.url, args.checkpoint, args.updates))
        finally:
            server.stop()
    result.update(time_handler_parts(args.checkpoint, args.updates))
    result["client_tls_context_ms"] = round(1000 * tls_context_seconds(), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
