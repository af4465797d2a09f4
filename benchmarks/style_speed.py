"""Style speed on this machine: fast mode per 512 px image, detailed mode for 300 iterations at 256 px.

    python benchmarks/style_speed.py [--threads 2] [--iterations 300] [--detailed-size 256] [--device cuda]

The baseline measured in the same run is the fast mode at the network's native 384 px, so the
512 px figure can be compared as a ratio on noisy machines. Fast mode runs onnxruntime's CPU provider
(on a GPU machine too, where it is measured only if onnxruntime is installed); detailed mode runs on
``--device``. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from PIL import Image

from gan_art.devtools import draw_image
from gan_art.machine import machine_info
from gan_art.style import FastStylizer, builtin_styles, stylize_detailed, stylize_fast

try:
    import onnxruntime  # noqa: F401  (fast mode's runtime)

    HAS_ONNXRUNTIME = True
except ImportError:  # e.g. the GPU machine: fast mode is then not measured
    HAS_ONNXRUNTIME = False


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
    parser.add_argument("--device", default="cpu", help="where detailed mode runs (cpu or cuda)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    content = draw_image(0, 512)
    style = Image.open(builtin_styles()["starry-night"]).convert("RGB")
    result = {"benchmark": "style_speed", "machine": machine_info(args.device), "precision": "fp32",
              "threads": args.threads}
    if HAS_ONNXRUNTIME:
        stylizer = FastStylizer(threads=args.threads)
        fast = {size: median_ms(lambda s=size: stylize_fast(content, [(style, 1.0)], size=s, stylizer=stylizer),
                                args.repeats) for size in (384, 512, 1024)}
        result |= {"fast_ms": {str(k): round(v, 1) for k, v in fast.items()},
                   "fast_512_vs_384_ratio": round(fast[512] / fast[384], 2)}
    else:
        result["fast_ms"] = "not measured: onnxruntime is not installed here"
    stylize_detailed(content, style, size=64, iterations=2, device=args.device)  # warm-up (CUDA context, kernels)
    start = time.perf_counter()
    stylize_detailed(content, style, size=args.detailed_size, iterations=args.iterations, device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    result["detailed"] = {"device": args.device, "size": args.detailed_size, "iterations": args.iterations,
                          "seconds": round(time.perf_counter() - start, 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
