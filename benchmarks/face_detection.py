"""How often the face is found when a held-out face sits somewhere in a larger photo, and how long finding and
aligning it takes.

    python benchmarks/face_detection.py [--faces 100] [--threads 2]

Each photo: a random crop of one of the team's paintings (shared/data/styles) as background, at 800x600 or
2048x1536, with a UTKFace face from the hashed hold-out (never trained on) pasted at a random place and
size (face crop side 8-40 % of the photo's height), a quarter of them turned by up to 20 degrees. Found:
a detected box whose centre lies inside the pasted face. Also reported: the share of photos with a box
elsewhere (false positives), and median seconds of detection + alignment per photo size. One JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from PIL import Image

from gan_art.data import load_images
from gan_art.faces import align, find_faces
from gan_art.machine import machine_info
from gan_art.paths import SHARED_DATA
from gan_art.repair_training import is_holdout

SIZES = ((800, 600), (2048, 1536))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-128.zip"))
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    images, summary = load_images(args.data, 128, max_images=25_000)
    held_out = [i for i, name in enumerate(summary.names) if is_holdout(name)]
    chosen = rng.permutation(held_out)[: args.faces]
    paintings = [Image.open(p).convert("RGB") for p in sorted((SHARED_DATA / "styles").glob("*.jpg"))]
    found, false_positive, seconds = 0, 0, {f"{w}x{h}": [] for w, h in SIZES}
    for n, index in enumerate(chosen):
        width, height = SIZES[n % len(SIZES)]
        painting = paintings[n % len(paintings)]
        scale = max(width / painting.width, height / painting.height) * rng.uniform(1.0, 1.5)
        background = painting.resize((round(painting.width * scale) + 1, round(painting.height * scale) + 1))
        left, top = rng.integers(0, background.width - width + 1), rng.integers(0, background.height - height + 1)
        photo = background.crop((left, top, left + width, top + height))
        side = int(rng.uniform(0.08, 0.40) * height)
        face = Image.fromarray(images[index].permute(1, 2, 0).numpy()).resize((side, side), Image.Resampling.LANCZOS)
        if n % 4 == 3:
            face = face.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BICUBIC, expand=False)
        x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
        photo.paste(face, (x, y))
        start = time.perf_counter()
        faces = find_faces(photo)
        aligned = [align(photo, f, 64) for f in faces]
        seconds[f"{width}x{height}"].append(time.perf_counter() - start)
        inside = [x <= (f.box[0] + f.box[2]) / 2 <= x + side and y <= (f.box[1] + f.box[3]) / 2 <= y + side
                  for f in faces]
        found += any(inside)
        false_positive += len(inside) > sum(inside)
        assert len(aligned) == len(faces)
    print(json.dumps({
        "benchmark": "face_detection", "machine": machine_info(), "photos": len(chosen),
        "found_rate": round(found / len(chosen), 3), "false_positive_rate": round(false_positive / len(chosen), 3),
        "median_seconds_detect_and_align": {k: round(float(np.median(v)), 3) for k, v in seconds.items()},
        "face_side_fraction_of_height": [0.08, 0.40]}))


if __name__ == "__main__":
    main()
