"""Repair quality on held-out faces: learned vs Telea vs Navier-Stokes, per hole-ratio band.

    python benchmarks/inpaint_quality.py [--images 100] [--data ../shared/data/utkface/train-128.zip]

Faces: the hashed 5% hold-out of train-128 that the inpainter never trained on
(gan_art.repair_training.is_holdout). Masks: our generator, one mask per face per band (10-20,
20-30, 30-40, 40-50% of the image), seeded. Figures per band and method: PSNR and SSIM of the
whole image, and a VGG16 feature distance (mean relative L1 on relu1_1..relu4_1; lower = closer).
Prints one JSON line per band and a last line with learned - Telea PSNR gains.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_art.damage import HOLE_BANDS, mask_in_band
from gan_art.data import load_images
from gan_art.inpaint import load_inpainter, repair
from gan_art.machine import machine_info
from gan_art.metrics import psnr, ssim
from gan_art.nets.vgg import STYLE_LAYERS, load_vgg16, preprocess
from gan_art.paths import CHECKPOINTS, SHARED_DATA
from gan_art.repair_training import is_holdout

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-128.zip"
METHODS = ("learned", "telea", "ns")


@torch.no_grad()
def vgg_distance(vgg, a: np.ndarray, b: np.ndarray) -> float:
    x, y = (preprocess(torch.from_numpy(v).permute(2, 0, 1)[None].float() / 255) for v in (a, b))
    fx, fy = vgg(x, STYLE_LAYERS), vgg(y, STYLE_LAYERS)
    return float(sum(F.l1_loss(fx[k], fy[k]) / fy[k].abs().mean().clamp_min(1e-6) for k in STYLE_LAYERS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / "inpaint-faces"))
    args = parser.parse_args()
    images, summary = load_images(args.data, 128)
    held_out = [i for i, name in enumerate(summary.names) if is_holdout(name)][: args.images]
    model, vgg = load_inpainter(Path(args.checkpoint)), load_vgg16()
    rng = np.random.default_rng(args.seed)
    gains = {}
    for low, high in HOLE_BANDS:
        scores = {m: {"psnr": [], "ssim": [], "vgg": []} for m in METHODS}
        for index in held_out:
            clean = images[index].permute(1, 2, 0).numpy()
            mask = mask_in_band(clean.shape[:2], rng, low, high)
            for method in METHODS:
                out = np.asarray(repair(Image.fromarray(clean), Image.fromarray(mask.astype(np.uint8) * 255), method,
                                        model=model).image)
                a, b = (torch.from_numpy(np.array(x)).permute(2, 0, 1) for x in (out, clean))
                scores[method]["psnr"].append(psnr(a, b))
                scores[method]["ssim"].append(ssim(a, b))
                scores[method]["vgg"].append(vgg_distance(vgg, out, clean))
        band = f"{int(low * 100)}-{int(high * 100)}%"
        row = {"benchmark": "inpaint_quality", "band": band, "images": len(held_out),
               **{m: {k: round(float(np.mean(v)), 4) for k, v in s.items()} for m, s in scores.items()}}
        gains[band] = round(row["learned"]["psnr"] - row["telea"]["psnr"], 2)
        print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "inpaint_quality", "machine": machine_info(), "precision": "fp32",
                      "learned_minus_telea_psnr_db": gains}))


if __name__ == "__main__":
    main()
