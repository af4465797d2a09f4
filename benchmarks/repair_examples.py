"""Two repairs as a user meets them, side by side (damaged | learned | Telea | original) in benchmarks/results/.

    python benchmarks/repair_examples.py

* a 400x400 held-out face (never trained on) with six thin scratches and an 88x68 px blob over an eye
  and the nose;
* a 600x452 crop of a painting with a 108x118 px box.

The damage is painted white (what a user's damaged photo shows; the repair never reads it). One JSON line:
PSNR of each method over the whole image.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from gan_art.data import load_images
from gan_art.inpaint import load_inpainter, repair
from gan_art.machine import machine_info
from gan_art.metrics import psnr
from gan_art.paths import CHECKPOINTS, INPAINTER, SHARED_DATA
from gan_art.repair_training import is_holdout

RESULTS = Path(__file__).parent / "results"


def face_example(data: str) -> tuple[Image.Image, Image.Image]:
    images, summary = load_images(data, 128, max_images=25_000)
    index = next(i for i, name in enumerate(summary.names) if is_holdout(name))
    photo = Image.fromarray(images[index].permute(1, 2, 0).numpy()).resize((400, 400), Image.Resampling.LANCZOS)
    mask = Image.new("L", photo.size, 0)
    draw = ImageDraw.Draw(mask)
    rng = np.random.default_rng(3)
    for _ in range(6):
        points = [tuple(int(v) for v in rng.integers(20, 380, 2)) for _ in range(3)]
        draw.line(points, fill=255, width=int(rng.integers(2, 5)))
    draw.ellipse((120, 130, 208, 198), fill=255)  # 88x68 over the left eye and the nose
    return photo, mask


def painting_example() -> tuple[Image.Image, Image.Image]:
    painting = Image.open(SHARED_DATA / "styles" / "starry-night.jpg").convert("RGB")
    scale = max(600 / painting.width, 452 / painting.height)
    photo = painting.resize((round(painting.width * scale), round(painting.height * scale))).crop((0, 0, 600, 452))
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).rectangle((250, 160, 357, 277), fill=255)  # 108x118
    return photo, mask


def to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-128.zip"))
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    model = load_inpainter(CHECKPOINTS / INPAINTER)
    figures = {}
    for name, (photo, mask) in (("face", face_example(args.data)), ("painting", painting_example())):
        damaged = np.array(photo)
        damaged[np.asarray(mask) > 0] = 255
        damaged = Image.fromarray(damaged)
        results = {method: repair(damaged, mask, method, 0.0, model if method == "learned" else None).image
                   for method in ("learned", "telea")}
        figures[name] = {m: round(psnr(to_tensor(r), to_tensor(photo)), 2) for m, r in results.items()}
        strip = Image.new("RGB", (photo.width * 4, photo.height), "white")
        for i, image in enumerate((damaged, results["learned"], results["telea"], photo)):
            strip.paste(image.convert("RGB"), (i * photo.width, 0))
        strip.save(f"{args.out}/repair_example_{name}.png")
    print(json.dumps({"benchmark": "repair_examples", "machine": machine_info(), "psnr_db": figures,
                      "panels": "damaged | learned | telea | original"}))


if __name__ == "__main__":
    main()
