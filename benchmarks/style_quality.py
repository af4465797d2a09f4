"""Style quality, fast vs detailed: Gram-matrix distance to the painting and content distance to the photo.

    python benchmarks/style_quality.py [--faces 10] [--size 256] [--iterations 300]

Three paintings x N held-out UTKFace photos drawn at random (128 px, upscaled to --size). Distances use VGG16
(gan_art.style.style_distances): Gram MSE summed over relu1_1..relu4_1 (lower = closer to the
style) and relu4_1 feature MSE to the photo (lower = closer to the content). The photo itself is
the baseline row. Prints one JSON line per method and writes a picture grid to
benchmarks/results/style_grid.png (rows: photo, fast, detailed; columns: painting x face).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from PIL import Image

from gan_art.data import load_images
from gan_art.images import pil_to_tensor
from gan_art.machine import machine_info
from gan_art.nets.vgg import load_vgg16
from gan_art.paths import REPO, SHARED_DATA
from gan_art.repair_training import drawn_from, is_holdout
from gan_art.style import builtin_styles, fit_long_side, style_distances, stylize_detailed, stylize_fast

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-128.zip"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--faces", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(2)
    images, summary = load_images(args.data, 128)
    faces = [Image.fromarray(images[i].permute(1, 2, 0).numpy())
             for i in drawn_from(summary.names, is_holdout, args.faces)]
    vgg = load_vgg16()
    rows = {"photo": [], "fast": [], "detailed": []}
    scores = {k: {"gram_distance": [], "content_distance": []} for k in rows}
    for name, path in builtin_styles().items():
        painting = Image.open(path).convert("RGB")
        style_x = pil_to_tensor(fit_long_side(painting, args.size))
        for face in faces:
            photo = fit_long_side(face, args.size)
            outputs = {"photo": photo, "fast": stylize_fast(face, [(painting, 1.0)], size=args.size),
                       "detailed": stylize_detailed(face, painting, size=args.size, iterations=args.iterations)}
            for method, image in outputs.items():
                rows[method].append(image)
                for key, value in style_distances(vgg, pil_to_tensor(image), style_x, pil_to_tensor(photo)).items():
                    scores[method][key].append(value)
            print(f"{name}: face {len(rows['fast'])}", file=sys.stderr, flush=True)
    for method, values in scores.items():
        print(json.dumps({"benchmark": "style_quality", "machine": machine_info(), "precision": "fp32",
                          "method": method, "pairs": len(values["gram_distance"]),
                          "size": args.size, "iterations": args.iterations if method == "detailed" else None,
                          **{k: float(np.mean(v)) for k, v in values.items()}}))
    tile = 96
    grid = Image.new("RGB", (tile * len(rows["fast"]), tile * 3), "white")
    for r, method in enumerate(rows):
        for c, image in enumerate(rows[method]):
            grid.paste(image.resize((tile, tile)), (c * tile, r * tile))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    grid.save(out / "style_grid.png")


if __name__ == "__main__":
    main()
