"""Generation speed on this machine: ms per image at batch 1 (what an Explore slider move costs).

    python benchmarks/generate_speed.py [--threads 2] [checkpoints/faces checkpoints/faces-dcgan]

Times mapping + synthesis + conversion to uint8 for each checkpoint at batch 1 and batch 16, and
prints one JSON line with the ratio of the first checkpoint to the second (the classic DCGAN
reference, measured in the same run as the baseline).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from gan_art.checkpoints import load_generator
from gan_art.explore import seed_latent, synthesize
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS


def ms_per_image(generator: torch.nn.Module, batch: int, repeats: int) -> float:
    z = torch.cat([seed_latent(i, generator.z_dim) for i in range(batch)])
    times = []
    for i in range(repeats + 3):
        start = time.perf_counter()
        with torch.no_grad():
            synthesize(generator, generator.mapping(z, 0.7))
        if i >= 3:  # warm-up calls excluded
            times.append((time.perf_counter() - start) * 1000 / batch)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", default=[str(CHECKPOINTS / "faces"),
                                                             str(CHECKPOINTS / "faces-dcgan")])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"benchmark": "generate_speed", "device": "cpu", "threads": args.threads}
    batch1 = []
    for path in args.checkpoints:
        loaded = load_generator(path)
        name = Path(path).name
        batch1.append(ms_per_image(loaded.generator, 1, args.repeats))
        result[name] = {"arch": loaded.model.arch, "resolution": loaded.model.resolution,
                        "ms_per_image_batch1": round(batch1[-1], 2),
                        "ms_per_image_batch16": round(ms_per_image(loaded.generator, 16, args.repeats // 5), 2)}
    if len(batch1) >= 2:
        result["batch1_ratio_first_vs_second"] = round(batch1[0] / batch1[1], 2)
    print(json.dumps({**result, "machine": machine_info(), "precision": "fp32"}))


if __name__ == "__main__":
    main()
