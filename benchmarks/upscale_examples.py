"""Pictures of the face upscaler for looking at: 16 generated faces and 16 held-out real faces.

    python benchmarks/upscale_examples.py [--out benchmarks/results]

``upscale_generated.png``: seeds 0-15 of the shipped face model (psi 0.7) at 64 px enlarged by Lanczos, then
upscaled at detail 0, at the default detail and at detail 1 (four 4x4 panels, left to right).
``upscale_real.png``: the 24 held-out faces of data/holdout-faces-128.zip (first 16) shrunk to 64 px and
brought back by Lanczos, detail 0, the default and detail 1, then the originals (five panels).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.explore import generate_seeds
from gan_art.images import image_grid, resize_batch, to_float, to_uint8
from gan_art.paths import CHECKPOINTS, FACES, REPO, UPSCALER
from gan_art.upscale import DEFAULT_DETAIL, FaceUpscaler

GAP = 8


def panels(images: list[torch.Tensor]) -> torch.Tensor:
    """uint8 4x4 grids side by side, GAP px of white between them."""
    grids = [torch.from_numpy(np.array(image_grid(x, 4))).permute(2, 0, 1) for x in images]
    H = grids[0].shape[1]
    gap = torch.full((3, H, GAP), 255, dtype=torch.uint8)
    parts = [p for grid in grids for p in (grid, gap)][:-1]
    return torch.cat(parts, 2)


def save(tensor: torch.Tensor, path: Path) -> None:
    image_grid(tensor[None], 1).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / UPSCALER))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    upscaler = FaceUpscaler(args.checkpoint)
    details = (0.0, DEFAULT_DETAIL, 1.0)

    def through(small: torch.Tensor) -> list[torch.Tensor]:
        return [resize_batch(small, 128)] + [to_uint8(upscaler(to_float(small), d)) for d in details]

    generated = generate_seeds(load_generator(CHECKPOINTS / FACES).generator, list(range(16)), 0.7)
    save(panels(through(generated)), out / "upscale_generated.png")
    faces, _ = load_images(REPO / "data" / "holdout-faces-128.zip", 128, max_images=16)
    save(panels(through(resize_batch(faces, 64)) + [faces]), out / "upscale_real.png")
    print(json.dumps({"benchmark": "upscale_examples", "checkpoint": args.checkpoint, "details": details,
                      "files": ["upscale_generated.png", "upscale_real.png"]}))


if __name__ == "__main__":
    main()
