"""Quality of shipped face models on the training faces: multi-scale SWD and FD-EffNet.

    python benchmarks/quality.py [--num-images 5000] [checkpoints/faces checkpoints/faces-dcgan]

Prints one JSON line per checkpoint (all against the same real faces) and a last line comparing
the first (ours) with the second (the DCGAN reference trained for the same CPU time): ratio < 1
means the first is better.
FD-EffNet is the FID formula on ImageNet EfficientNet-Lite0 features, not the published FID.
"""
from __future__ import annotations

import argparse
import json

from gan_art.checkpoints import load_generator
from gan_art.evaluate import evaluate_checkpoint, real_reference
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS, SHARED_DATA

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-64.zip"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", default=[str(CHECKPOINTS / "faces"),
                                                             str(CHECKPOINTS / "faces-dcgan")])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--num-images", type=int, default=5000)
    args = parser.parse_args()
    resolution = load_generator(args.checkpoints[0]).model.resolution
    reference = real_reference(args.data, resolution, args.num_images)  # the same real faces for every model
    results = []
    for checkpoint in args.checkpoints:
        results.append(evaluate_checkpoint(checkpoint, reference))
        print(json.dumps(results[-1]), flush=True)
    if len(results) >= 2:
        ours, reference = results[0], results[1]
        print(json.dumps({"benchmark": "quality", "machine": machine_info(), "precision": "fp32",
                          "ours": ours["checkpoint"], "reference": reference["checkpoint"],
                          "swd_avg_ratio": round(ours["swd_avg"] / reference["swd_avg"], 3),
                          "fd_effnet_ratio": round(ours["fd_effnet"] / reference["fd_effnet"], 3)}))


if __name__ == "__main__":
    main()
