"""Explore slider latency, part by part: generator, PNG + HTML, the app's HTTP round trip, and gradio_client.

    python benchmarks/explore_latency.py [--updates 60] [--threads 2] [--checkpoint faces]

Starts ``python app.py`` on a free port (the real app, shipped checkpoint) and moves the PC1 slider
``--updates`` times through the event the page sends on every slider move (/explore_slider):

* ``app_slider_update``: through gradio_client as the README recommends for the local app
  (``ssl_verify=False`` on its http:// URL), with 128 px faces (the upscaler on, Explore's default);
  ``app_slider_update_64px`` the same with the switch off, the baseline of ``upscaler_latency_ratio``;
* ``app_slider_update_default_client``: through gradio_client with its defaults, which builds two fresh
  TLS contexts (loading the CA bundle) per call even for http:// (``client_tls_context_ms`` each);
* ``server_round_trip``: the same request over one kept-alive HTTP connection, as a browser sends it
  (queue join + event stream until the result), i.e. the app's own share of the latency;
* ``api_render``: the named /render endpoint (a recipe JSON in, a PNG file out) through gradio_client;
* ``generator_call``, ``upscaler_call`` and ``png_and_html``: the handler's work, timed in this process.

Prints one JSON line with p50/p95 (ms) of each and where it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import torch
from gradio_client import Client

from gan_art.devtools import EXPLORE_SLIDER, AppServer, percentiles, slider_args, time_explore_slider
from gan_art.explore import Recipe, png_with_recipe
from gan_art.machine import machine_info
from gan_art.studio import Studio
from gan_art.ui.explore import view_html


def pc1_values(n: int) -> list[float]:
    return [round(-3 + 6 * i / max(n - 1, 1), 1) for i in range(n)]


def time_round_trip(url: str, checkpoint: str, updates: int) -> list[float]:
    """Seconds per update over one kept-alive connection: POST queue/join, read the event stream to the result."""
    client = Client(url, verbose=False)
    fn_index = next(i for i, dep in enumerate(client.config["dependencies"])
                    if dep.get("api_name") == EXPLORE_SLIDER.lstrip("/"))
    state_positions = [i for i, cid in enumerate(client.config["dependencies"][fn_index]["inputs"])
                       if next(c for c in client.config["components"] if c["id"] == cid)["type"] == "state"]
    base, session = url + "gradio_api/", uuid.uuid4().hex
    seconds = []
    with httpx.Client(timeout=60) as http:
        for value in [0.0, *pc1_values(updates)]:
            args = slider_args(client, {"Checkpoint": checkpoint, "Seed": 7, "PC1": value})
            for position in state_positions:  # the page sends state values; gradio_client adds them itself
                args.insert(position, [])
            start = time.perf_counter()
            http.post(base + "queue/join", json={"data": args, "fn_index": fn_index, "session_hash": session,
                                                 "event_data": None, "trigger_id": None}).raise_for_status()
            with http.stream("GET", base + "queue/data", params={"session_hash": session}) as response:
                received = b""
                for chunk in response.iter_bytes():
                    received += chunk
                    done = received.find(b'"process_completed"')
                    if done >= 0 and b"\n\n" in received[done:]:  # the whole message, not its first chunk
                        break
            if b'"success":true' not in received:
                raise RuntimeError(f"render failed: {received[-300:]!r}")
            seconds.append(time.perf_counter() - start)
    return seconds[1:]  # the first was the warm-up


def time_api_render(url: str, checkpoint: str, updates: int) -> list[float]:
    client = Client(url, verbose=False, ssl_verify=False)
    seconds = []
    for value in [0.0, *pc1_values(updates)]:
        recipe = Recipe(checkpoint=checkpoint, seed=7, directions={"PC1": value}).to_json()  # upscale: below
        start = time.perf_counter()
        client.predict(recipe=recipe, upscale=True, api_name="/render")
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


def time_handler_parts(checkpoint: str, updates: int) -> dict:
    studio = Studio()
    upscaler = studio.upscaler_for(checkpoint)
    studio.render(Recipe(checkpoint=checkpoint, seed=7, upscaler=upscaler))
    generator, enlarge, encode = [], [], []
    for value in pc1_values(updates):
        start = time.perf_counter()
        image, recipe = studio.render(Recipe(checkpoint=checkpoint, seed=7, directions={"PC1": value}))
        middle = time.perf_counter()
        image, recipe = studio.enlarge(image, replace(recipe, upscaler=upscaler))
        end = time.perf_counter()
        view_html(png_with_recipe(image, recipe), image.shape[0], recipe)
        generator.append(middle - start)
        enlarge.append(end - middle)
        encode.append(time.perf_counter() - end)
    return {"generator_call": percentiles(generator), "upscaler_call": percentiles(enlarge),
            "png_and_html": percentiles(encode)}


def tls_context_seconds(repeats: int = 10) -> float:
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
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the app's process
    torch.set_num_threads(args.threads)
    result = {"benchmark": "explore_latency", "checkpoint": args.checkpoint, "updates": args.updates,
              "machine": machine_info()}
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp), "--checkpoint", args.checkpoint, threads=args.threads)
        try:
            result["app_slider_update"] = percentiles(time_explore_slider(server.url, args.checkpoint, args.updates,
                                                                          ssl_verify=False))
            result["app_slider_update_64px"] = percentiles(time_explore_slider(
                server.url, args.checkpoint, args.updates, upscale=False, ssl_verify=False))
            result["upscaler_latency_ratio"] = round(result["app_slider_update"]["p50_ms"]
                                                     / result["app_slider_update_64px"]["p50_ms"], 3)
            result["app_slider_update_default_client"] = percentiles(time_explore_slider(server.url, args.checkpoint,
                                                                                         args.updates))
            result["server_round_trip"] = percentiles(time_round_trip(server.url, args.checkpoint, args.updates))
            result["api_render"] = percentiles(time_api_render(server.url, args.checkpoint, args.updates))
        finally:
            server.stop()
    result.update(time_handler_parts(args.checkpoint, args.updates))
    result["client_tls_context_ms"] = round(1000 * tls_context_seconds(), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
