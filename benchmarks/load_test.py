"""Load: 16 concurrent Explore sessions for 60 s while a training run is active and another client repairs.

    python benchmarks/load_test.py [--clients 16] [--seconds 60]

With more clients than the app's queue holds (``--clients 100``), the overflow must be answered
with Gradio's "queue is full" message (counted as ``busy``), never by a crash or unbounded memory.

Every client is its own gradio_client session moving a random slider as fast as answers come. A
17th client repairs a 256 px photo with the learned method in a loop. Counts errors (any
exception other than a "queue is full" answer, which counts as busy), reports p50/p95 of the
Explore updates, the repairs completed, and the app's peak resident memory. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from gan_art.devtools import EXPLORE_SLIDER, AppServer, draw_image, percentiles, slider_args
from gan_art.machine import machine_info
from gan_art.rundir import ACTIVE_STATES, RunDir


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()


    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = AppServer(tmp)
        photo = tmp / "photo.png"
        draw_image(3, 256).save(photo)
        latencies, errors, busy, repairs, peak = [], [], [], [0], [rss_mb(server.process.pid)]
        lock = threading.Lock()
        try:
            starter = Client(server.url, verbose=False)
            starter.predict(steps=10**6, name="background", api_name="/train_start")
            deadline = time.monotonic() + args.seconds

            def record_failure(what: str, exc: Exception) -> None:
                with lock:
                    (busy if "queue is full" in str(exc).lower() else errors).append(
                        f"{what}{type(exc).__name__}: {exc}"[:200])

            def explorer(index: int) -> None:
                try:
                    client, rng = Client(server.url, verbose=False), random.Random(index)
                except Exception as exc:  # noqa: BLE001 - a client that cannot even connect is an error
                    record_failure("connect ", exc)
                    return
                values = {"Checkpoint": "faces", "Seed": index}
                while time.monotonic() < deadline:
                    values[f"PC{rng.randrange(12) + 1}"] = round(rng.uniform(-3, 3), 1)
                    start = time.perf_counter()
                    try:
                        client.predict(*slider_args(client, values), api_name=EXPLORE_SLIDER)
                        with lock:
                            latencies.append(time.perf_counter() - start)
                    except Exception as exc:  # noqa: BLE001
                        record_failure("", exc)

            def repairer() -> None:
                client = Client(server.url, verbose=False)
                mask = np.zeros((256, 256), np.uint8)
                mask[100:160, 60:200] = 255
                Image.fromarray(mask).save(tmp / "mask.png")
                while time.monotonic() < deadline:
                    try:
                        client.predict(image=handle_file(str(photo)), mask=handle_file(str(tmp / "mask.png")),
                                       api_name="/repair")
                        repairs[0] += 1
                    except Exception as exc:  # noqa: BLE001
                        record_failure("repair ", exc)

            threads = [threading.Thread(target=explorer, args=(i,)) for i in range(args.clients)]
            threads.append(threading.Thread(target=repairer))
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                peak.append(rss_mb(server.process.pid))
                time.sleep(1)
            starter.predict("background", api_name="/stop")
            # the worker outlives the app by design; let it stop before its folder is deleted
            run, deadline = RunDir(tmp / "runs" / "background"), time.monotonic() + 60
            while run.read_status().get("state") in ACTIVE_STATES and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            server.stop()
    print(json.dumps({"benchmark": "load_test", "machine": machine_info(), "precision": "fp32",
                      "clients": args.clients, "seconds": args.seconds,
                      "explore_updates": len(latencies), "errors": len(errors), "first_errors": errors[:3],
                      "busy_answers": len(busy), "first_busy": busy[:1],
                      "repairs_completed": repairs[0], **percentiles(latencies),
                      "app_peak_rss_mb": round(max(peak), 1)}))


if __name__ == "__main__":
    main()
