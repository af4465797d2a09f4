"""What the app costs while nobody uses it: CPU time of ``python app.py`` left idle, against a bare Gradio app.

    python benchmarks/app_idle_cpu.py [--seconds 30]

Starts the real app (shipped checkpoints, no browser) and, as the baseline, a Gradio app with one button and
Gradio's default queue, each on a free port; after they answer HTTP and settle for 5 s, reads the process's CPU
time (user + system, all threads) over ``--seconds`` of wall time. An idle app's CPU is taken from whatever
else runs on the machine: a training run in the Train tab, the user's other programs, a laptop's battery.
Prints one JSON line: each as % of one core, the ratio app / bare Gradio, and where it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from gan_art.devtools import AppServer, free_port, wait_until
from gan_art.machine import machine_info

BARE_GRADIO = """
import sys
import gradio as gr
with gr.Blocks() as demo:
    gr.Button("go").click(lambda: None)
demo.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""
SETTLE_S = 5.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def idle_percent(pid: int, seconds: float) -> float:
    time.sleep(SETTLE_S)
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return round(100 * (cpu_seconds(pid) - before) / (time.monotonic() - started), 2)


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def bare_gradio_percent(seconds: float) -> float:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "-c", BARE_GRADIO, str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/"), 120, 0.5)
        return idle_percent(process.pid, seconds)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp), threads=None)
        try:
            app = idle_percent(server.process.pid, args.seconds)
        finally:
            server.stop()
    bare = bare_gradio_percent(args.seconds)
    print(json.dumps({"benchmark": "app_idle_cpu", "machine": machine_info(), "seconds": args.seconds,
                      "app_idle_cpu_percent_of_a_core": app, "bare_gradio_idle_cpu_percent_of_a_core": bare,
                      "ratio_app_vs_bare_gradio": round(app / bare, 2) if bare else None}))


if __name__ == "__main__":
    main()
