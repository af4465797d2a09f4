"""Repair latency on this CPU: a 256x256 face with a 25% hole, a 2048x1536 photo with a few scratches, and a
4000x3000 photo with a wide blob (16%).

    python benchmarks/inpaint_speed.py [--threads 2] [--repeats 5]

Times ``gan_art.inpaint.repair`` (the whole pipeline: tiling, network, blending) for the learned
method, with Telea on the same inputs as the in-run baseline. Prints one JSON line (median ms).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from gan_art.damage import mask_in_band
from gan_art.inpaint import load_inpainter, repair
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS


def scratches(shape: tuple[int, int], rng: np.random.Generator, count: int = 4) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    H, W = shape
    for _ in range(count):
        points = np.cumsum(rng.normal(0, 60, (12, 2)), 0) + [rng.uniform(0, W), rng.uniform(0, H)]
        cv2.polylines(mask, [points.astype(np.int32)], False, 1, int(rng.integers(2, 5)))
    return mask.astype(bool)


def median_ms(image: Image.Image, mask: np.ndarray, method: str, repeats: int, model) -> float:
    mask_image = Image.fromarray(mask.astype(np.uint8) * 255)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        repair(image, mask_image, method, model=model)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / "inpaint-faces"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    rng = np.random.default_rng(0)
    model = load_inpainter(Path(args.checkpoint))
    face = Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
    photo = Image.fromarray(cv2.GaussianBlur(rng.integers(0, 255, (1536, 2048, 3), dtype=np.uint8), (0, 0), 3))
    hole = mask_in_band((256, 256), rng, 0.24, 0.26)
    lines = scratches((1536, 2048), rng)
    big = Image.fromarray(cv2.resize(np.asarray(photo), (4000, 3000), interpolation=cv2.INTER_CUBIC))
    blob = np.zeros((3000, 4000), np.uint8)
    cv2.ellipse(blob, (2000, 1500), (800, 750), 10, 0, 360, 1, -1)
    result = {"benchmark": "inpaint_speed", "threads": args.threads,
              "face_256_hole_25pct": {m: round(median_ms(face, hole, m, args.repeats, model), 1)
                                      for m in ("learned", "telea")},
              "photo_2048x1536_scratches": {m: round(median_ms(photo, lines, m, args.repeats, model), 1)
                                            for m in ("learned", "telea")},
              "photo_4000x3000_blob": {m: round(median_ms(big, blob.astype(bool), m, args.repeats, model), 1)
                                       for m in ("learned", "telea")},
              "scratch_coverage": round(float(lines.mean()), 4)}
    print(json.dumps({**result, "machine": machine_info(), "precision": "fp32"}))


if __name__ == "__main__":
    main()
