"""Train tab figures with the tab's defaults on this machine: start to first grid, grid cadence, UI latency
while training, tab vs CLI speed, and (optionally) how long a default run really takes.

    python benchmarks/train_ui.py [--updates 60] [--steps 200] [--full-default-run]

1. Explore slider latency through gradio_client with no run (idle), then while the tab's default run (a
   fine-tune of the face model, batch 32, precision auto) trains (p50/p95 and the p95 ratio).
2. Seconds from the start request to the first sample grid, and the longest gap between grids while
   the run trains (``--watch-seconds``).
3. Images/s of a fine-tune of the face model started from the tab vs its config run by the CLI with as many
   threads, each over ``--steps`` steps; and vs the CLI with one core left idle (the worker's share before it ran
   on every core at a lower priority).
4. With ``--full-default-run``: a run with the tab's default length (steps fitted to ~12 minutes from
   the probe) is left to finish; its wall time and the estimate it started with.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gan_art.devtools import AppServer, percentiles, time_explore_slider, wait_until
from gan_art.machine import machine_info
from gan_art.paths import REPO
from gan_art.rundir import RunDir
from gan_art.runs import worker_threads


def steady_speed(run: RunDir) -> float:
    """Images/s over all equal-length metrics intervals after the first (warm-up): a harmonic mean."""
    rows = run.read_metrics()[1:]
    return len(rows) / sum(1 / r["images_per_s"] for r in rows)


def grid_gaps(run: RunDir) -> list[float]:
    times = sorted(p.stat().st_mtime for p in run.sample_grids())
    return [b - a for a, b in zip(times, times[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60, help="slider moves per latency measurement")
    parser.add_argument("--steps", type=int, default=100, help="steps of the tab-vs-CLI speed comparison")
    parser.add_argument("--watch-seconds", type=float, default=90.0, help="how long to watch the grid cadence")
    parser.add_argument("--full-default-run", action="store_true", help="also time a default-length run to its end")
    args = parser.parse_args()


    result = {"benchmark": "train_ui", "machine": machine_info(), "worker_threads": worker_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = AppServer(tmp, threads=None)  # as `python app.py` runs: worker and CLI get the same threads
        try:
            idle = percentiles(time_explore_slider(server.url, "faces", args.updates, ssl_verify=False))
            client = server.client()
            start = time.perf_counter()
            client.predict(model="faces", steps=10**6, name="ui-active", api_name="/train_start")
            active_run = RunDir(tmp / "runs" / "ui-active")
            wait_until(lambda: client.predict(run="ui-active", api_name="/train_status")["sample_grids"] > 0, 120)
            result["seconds_start_to_first_grid"] = round(time.perf_counter() - start, 2)
            active = percentiles(time_explore_slider(server.url, "faces", args.updates, ssl_verify=False))
            time.sleep(max(0.0, args.watch_seconds - (time.perf_counter() - start)))
            status = client.predict(run="ui-active", api_name="/train_status")
            result.update({"precision": status.get("precision"), "precision_note": status.get("precision_note"),
                           "grids_in_watch": len(active_run.sample_grids()),
                           "longest_grid_gap_s": round(max(grid_gaps(active_run), default=float("nan")), 1),
                           "watch_seconds": round(time.perf_counter() - start, 1)})
            client.predict(run="ui-active", command="stop", api_name="/train_control")
            result["explore_idle"], result["explore_while_training"] = idle, active
            result["p95_ratio_training_vs_idle"] = round(active["p95_ms"] / idle["p95_ms"], 2)
            wait_until(lambda: active_run.read_status().get("state") == "stopped", 120)
            client.predict(model="faces", steps=args.steps, name="from-tab", api_name="/train_start")
            tab_run = RunDir(tmp / "runs" / "from-tab")
            wait_until(lambda: tab_run.read_status().get("state") == "finished", 1800, 1.0)
            if args.full_default_run:
                started = time.perf_counter()
                client.predict(name="default-length", api_name="/train_start")  # steps 0: fitted to ~12 min
                default_run = RunDir(tmp / "runs" / "default-length")
                wait_until(lambda: default_run.read_status().get("state") == "finished", 3 * 3600, 5.0)
                status = default_run.read_status()
                result["default_run"] = {"steps": status["steps"], "minutes": round((time.perf_counter() - started)
                                                                                    / 60, 1),
                                         "images_per_s": round(steady_speed(default_run), 1)}
        finally:
            server.stop()

        def cli_speed(threads: int) -> float:
            out = RunDir(tmp / f"from-cli-{threads}")
            out.path.mkdir()
            shutil.copyfile(tab_run.config_file, out.config_file)  # the tab's run, step for step
            subprocess.run([sys.executable, "-m", "gan_art", "train", "--resume", str(out.path), "--threads",
                            str(threads)], cwd=REPO, env=dict(os.environ), check=True, capture_output=True)
            return steady_speed(out)

        tab_speed, same_threads = steady_speed(tab_run), cli_speed(worker_threads())
        one_core_left = cli_speed(max(1, worker_threads() - 1))
    result.update({"steps": args.steps, "tab_images_per_s": round(tab_speed, 1),
                   "cli_images_per_s": round(same_threads, 1), "tab_vs_cli_ratio": round(tab_speed / same_threads, 3),
                   "cli_one_core_left_images_per_s": round(one_core_left, 1),
                   "tab_vs_one_core_left_ratio": round(tab_speed / one_core_left, 3)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
