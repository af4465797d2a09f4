"""Train tab figures: time from Start to the first grid, UI latency with a run active vs idle, streaming overhead.

    python benchmarks/train_ui.py [--updates 60] [--steps 200]

1. Explore slider latency through gradio_client with no run (idle), then with a 32 px training run
   active (p50/p95 and the p95 ratio active/idle).
2. Seconds from the /start call to the first sample grid returned by the tab's /poll endpoint
   (built-in faces, 32 px).
3. Images/s of a run started from the tab vs the same config started from the CLI, each over
   ``--steps`` steps, as the ratio tab/CLI.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.explore_latency import percentiles, time_app  # noqa: E402
from gan_art.rundir import RunDir  # noqa: E402
from gan_art.runs import BUILTIN_FACES, app_config, worker_threads  # noqa: E402

START = ["Built-in faces (2,000 UTKFace photos)", None, "", "stylegan", 32, 32]


def steady_speed(run: RunDir) -> float:
    """Images/s over all equal-length metrics intervals after the first (warm-up): a harmonic mean."""
    rows = run.read_metrics()[1:]
    return len(rows) / sum(1 / r["images_per_s"] for r in rows)


def wait_until(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    from gradio_client import Client

    from tests.app_server import AppServer

    result = {"benchmark": "train_ui", "device": "cpu"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = AppServer(tmp, threads=None)  # as `python app.py` runs: worker and CLI get the same threads
        try:
            idle = percentiles(time_app(server.url, "faces", args.updates))
            client = Client(server.url, verbose=False)
            start = time.perf_counter()
            client.predict(*START, 10**6, 0, 0, 0, True, True, 0, "cpu", "ui-active", api_name="/start")
            wait_until(lambda: isinstance(client.predict("ui-active", True, api_name="/poll")[1], str), 120)
            result["seconds_start_to_first_grid"] = round(time.perf_counter() - start, 2)
            active = percentiles(time_app(server.url, "faces", args.updates))
            client.predict("ui-active", api_name="/stop")
            result["explore_idle"], result["explore_while_training"] = idle, active
            result["p95_ratio_training_vs_idle"] = round(active["p95_ms"] / idle["p95_ms"], 2)
            wait_until(lambda: RunDir(tmp / "runs" / "ui-active").read_status().get("state") == "stopped", 60)
            client.predict(*START, args.steps, 0, 0, 0, True, True, 0, "cpu", "from-tab", api_name="/start")
            tab_run = RunDir(tmp / "runs" / "from-tab")
            wait_until(lambda: tab_run.read_status().get("state") == "finished", 1200, 1.0)
        finally:
            server.stop()
        cfg = app_config(str(BUILTIN_FACES), "stylegan", 32, 32, args.steps, device="cpu")
        cli_out = tmp / "from-cli"
        subprocess.run([sys.executable, "-m", "gan_art", "train", "--data", cfg.data, "--out", str(cli_out),
                        "--arch", "stylegan", "--resolution", "32", "--z-dim", "128", "--w-dim", "128",
                        "--width", "32", "--max-channels", "256", "--batch-size", "32", "--steps", str(args.steps),
                        "--sample-every", "25", "--sample-grid", "6", "--metrics-every", "5",
                        "--checkpoint-every", "500", "--checkpoint-minutes", "2", "--device", "cpu",
                        "--threads", str(worker_threads())],  # what the tab gives its worker
                       cwd=ROOT, env=dict(os.environ), check=True, capture_output=True)
        tab_speed, cli_speed = steady_speed(tab_run), steady_speed(RunDir(cli_out))
    result.update({"steps": args.steps, "tab_images_per_s": round(tab_speed, 1),
                   "cli_images_per_s": round(cli_speed, 1), "tab_vs_cli_ratio": round(tab_speed / cli_speed, 3)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
