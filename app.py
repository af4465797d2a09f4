"""GAN Art Studio: ``python app.py`` opens the app on http://127.0.0.1:7860 with the shipped face model."""
from __future__ import annotations

import argparse
import logging
import os
import signal

# Gradio recomputes a pandas summary of up to 10,000 past events after every event (for its monitoring
# page); with live sliders that grows to tens of ms per update, so summarise rarely
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
# A local studio tells no one it started: Gradio's default reports each launch to api.gradio.app and asks it for a
# newer version (a thread that waits up to 3 s on a machine offline). GRADIO_ANALYTICS_ENABLED=True opts back in.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's queue looks for new events every 1 ms while idle (its Linux default), which kept ~9 % of a core busy for
# as long as the app ran, taken from a training run in the Train tab or a laptop's battery; every 5 ms: ~3 %
# (benchmarks/app_idle_cpu.py), and Explore's updates were no slower (benchmarks/explore_latency.py, A/B)
QUEUE_POLL_S = 0.005


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 exposes the app)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--checkpoint", default="faces", help="checkpoint name to open first")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--checkpoints-dir", default=None, help="shipped/promoted checkpoints (default: checkpoints/)")
    parser.add_argument("--runs-dir", default=None, help="training runs (default: runs/)")
    parser.add_argument("--outputs-dir", default=None, help="downloads written by the app (default: outputs/)")
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD",
                        help="require this login (use it whenever --host exposes the app to a network)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # imported after parsing, so --help and a bad flag answer at once instead of after loading torch and Gradio
    from gan_art.studio import Studio
    from gan_art.ui import build_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    roots = {"checkpoints_root": args.checkpoints_dir, "runs_root": args.runs_dir, "outputs_root": args.outputs_dir}
    studio = Studio(device=args.device, default_checkpoint=args.checkpoint,
                    **{k: v for k, v in roots.items() if v is not None})
    app = build_app(studio)
    studio.start_queue()
    # a bounded queue turns overload into a "queue is full" message instead of unbounded memory
    app.queue(default_concurrency_limit=2, max_size=64)
    queue = getattr(app, "_queue", None)  # private in Gradio: a version without it keeps its own polling
    if hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_POLL_S)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None

    def exit_now(signum, frame) -> None:
        """Ctrl-C or SIGTERM: training workers stop at a checkpoint, then the process exits at once (Gradio's own
        shutdown would wait seconds for open browser connections first)."""
        stopped = studio.shutdown()
        if stopped:
            print(f"stopped training at a checkpoint: {', '.join(stopped)} (Resume in the Train tab continues)")
        print("GAN Art Studio stopped.", flush=True)
        os._exit(0)

    for exit_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(exit_signal, exit_now)
    app.launch(server_name=args.host, server_port=args.port, auth=auth, max_file_size="64mb",
               allowed_paths=[str(studio.outputs_root)])


if __name__ == "__main__":
    main()
