"""Style speed on this machine: fast mode per 512 px image, detailed mode for 300 iterations at 256 px.

    python benchmarks/style_speed.py [--threads 2] [--iterations 300] [--detailed-size 256]

The baseline measured in the same run is the fast mode at the network's native 384 px, so the
512 px figure can be compared as a ratio on noisy machines. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_art.machine import machine_info  # noqa: E402
from gan_art.style import FastStylizer, builtin_styles, stylize_detailed, stylize_fast  # noqa: E402
from tests.conftest import draw_image  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--detailed-size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stylizer = FastStylizer(threads=args.threads)
    content = draw_image(0, 512)
    style = Image.open(builtin_styles()["starry-night"]).convert("RGB")
    fast = {size: median_ms(lambda s=size: stylize_fast(content, [(style, 1.0)], size=s, stylizer=stylizer),
                            args.repeats) for size in (384, 512, 1024)}
    start = time.perf_counter()
    stylize_detailed(content, style, size=args.detailed_size, iterations=args.iterations)
    detailed_s = time.perf_counter() - start
    print(json.dumps({"benchmark": "style_speed", "machine": machine_info(), "precision": "fp32",
                      "device": "cpu", "threads": args.threads,
                      "fast_ms": {str(k): round(v, 1) for k, v in fast.items()},
                      "fast_512_vs_384_ratio": round(fast[512] / fast[384], 2),
                      "detailed": {"size": args.detailed_size, "iterations": args.iterations,
                                   "seconds": round(detailed_s, 1)}}))


if __name__ == "__main__":
    main()
