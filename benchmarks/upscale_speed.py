"""Upscaler latency on this CPU: one 64 px face 2x (Explore's case) and a 512 px face photo 4x (two passes).

    python benchmarks/upscale_speed.py [--threads 2] [--repeats 20]

Times ``FaceUpscaler`` on a generated face and ``upscale_photo`` on a hold-out face enlarged to 512 px, with
PIL's Lanczos on the same inputs as the in-run baseline. Prints one JSON line (median ms).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from PIL import Image

from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.explore import generate_seeds
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS, FACES, REPO, UPSCALER
from gan_art.upscale import DEFAULT_DETAIL, FaceUpscaler, upscale_photo


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and oneDNN kernel choice
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(float(np.median(times)), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / UPSCALER))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    upscaler = FaceUpscaler(args.checkpoint)
    face = generate_seeds(load_generator(CHECKPOINTS / FACES).generator, [7])[0].permute(1, 2, 0).numpy()
    held_out, _ = load_images(REPO / "data" / "holdout-faces-128.zip", 128, max_images=1)
    photo = Image.fromarray(held_out[0].permute(1, 2, 0).numpy()).resize((512, 512), Image.Resampling.BICUBIC)
    result = {"benchmark": "upscale_speed", "machine": machine_info(), "precision": "fp32",
              "detail": DEFAULT_DETAIL, "repeats": args.repeats,
              "face_64px_2x_ms": median_ms(lambda: upscaler.enlarge_array(face, DEFAULT_DETAIL), args.repeats),
              "face_64px_2x_lanczos_ms": median_ms(lambda: Image.fromarray(face).resize(
                  (128, 128), Image.Resampling.LANCZOS), args.repeats),
              "photo_512px_4x_ms": median_ms(lambda: upscale_photo(photo, upscaler, 4), max(3, args.repeats // 5)),
              "photo_512px_4x_lanczos_ms": median_ms(lambda: photo.resize((2048, 2048), Image.Resampling.LANCZOS),
                                                     max(3, args.repeats // 5))}
    result["face_ratio_to_lanczos"] = round(result["face_64px_2x_ms"] / result["face_64px_2x_lanczos_ms"], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
