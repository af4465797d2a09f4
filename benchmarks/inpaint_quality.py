"""Repair quality on held-out faces at several photo sizes, with two mask families: learned vs Telea vs NS.

    python benchmarks/inpaint_quality.py [--images 10] [--sizes 128 256 512] [--families ours unseen]
    python benchmarks/inpaint_quality.py --photos benchmarks/data/non_faces gan_art/assets/styles   # not faces

Faces: drawn at random from the hashed 5% hold-out of train-128 that the inpainter never trained on
(gan_art.repair_training.is_holdout), enlarged with bicubic resampling to each size. ``--photos``: every image
in the given folders instead (centre square, resized to each size): photos and paintings that are not faces,
to measure which method to suggest there. Masks, one per face,
band and family, drawn at the photo's size:

* ``ours``: gan_art.damage's generator, which the inpainter trains on;
* ``unseen``: a different family written here once and never trained or tuned on (UNSEEN below):
  hand-drawn-like brush paths of varying width, large irregular blobs, rectangles of several aspect ratios.

Every method gets the damaged photo with its holes painted white (repair() blanks them again itself).
Per size, family, band and method: PSNR and SSIM of the whole image, a VGG16 feature distance (mean
relative L1 on relu1_1..relu4_1 at 128 px; lower = closer), the mean colour error of the fill (how far
the fill's mean RGB is from the truth's, per hole), and for the learned method the seam ratio: gradient
energy inside holes on a 64 px grid of lines (where tile edges would fall) over the energy elsewhere inside
holes (1.0 = no seams). One JSON line per size/family/band, then a summary line of learned - Telea (dB).
``--fill-upscaler DETAIL`` adds ``learned_upscaled``: the same fill, brought back from its reduced scale by the
face upscaler instead of bicubic.
"""
from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_art.damage import HOLE_BANDS, mask_in_band
from gan_art.data import load_images
from gan_art.images import decode_image
from gan_art.inpaint import load_inpainter, repair
from gan_art.machine import machine_info
from gan_art.metrics import psnr, ssim
from gan_art.nets.vgg import STYLE_LAYERS, load_vgg16, preprocess
from gan_art.paths import CHECKPOINTS, INPAINTER, SHARED_DATA, UPSCALER
from gan_art.repair_training import drawn_from, is_holdout, is_validation
from gan_art.upscale import FaceUpscaler

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-128.zip"
METHODS = ("learned", "telea", "ns")


# ---- the unseen mask family: written once for evaluation, never used in training or tuning ----------------------
def _brush_path(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A hand-drawn-like stroke: a smooth curve through a few points, its width swelling and thinning."""
    H, W = mask.shape
    points = rng.uniform([0, 0], [W, H], size=(int(rng.integers(3, 6)), 2))
    t = np.linspace(0, 1, 60)
    curve = np.stack([np.interp(t, np.linspace(0, 1, len(points)), points[:, i]) for i in range(2)], 1)
    curve = cv2.GaussianBlur(curve[:, None, :].astype(np.float32), (1, 15), 4)[:, 0, :]  # smooth the polyline
    base = rng.uniform(0.02, 0.08) * min(H, W)
    phase, waves = rng.uniform(0, 2 * np.pi), rng.uniform(1, 3)
    for k in range(len(curve) - 1):
        width = max(1, int(base * (0.6 + 0.4 * np.sin(phase + waves * 2 * np.pi * k / len(curve)))))
        cv2.line(mask, tuple(int(v) for v in curve[k]), tuple(int(v) for v in curve[k + 1]), 1, width)


def _irregular_blob(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A large organic blob: the biggest piece of thresholded smooth noise around a random centre."""
    H, W = mask.shape
    noise = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), min(H, W) / 12)
    cy, cx = rng.uniform(0.2, 0.8) * H, rng.uniform(0.2, 0.8) * W
    yy, xx = np.mgrid[0:H, 0:W]
    falloff = np.exp(-(((yy - cy) / (0.3 * H)) ** 2 + ((xx - cx) / (0.3 * W)) ** 2))
    field = noise / (noise.std() + 1e-6) * 0.6 + falloff * rng.uniform(1.2, 2.0)
    blob = (field > 1.0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blob)
    if count > 1:
        mask |= (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)


def _rectangle(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A rectangle of aspect 1:4 to 4:1, possibly turned."""
    H, W = mask.shape
    aspect = rng.choice([0.25, 0.5, 1.0, 2.0, 4.0])
    area = rng.uniform(0.03, 0.15) * H * W
    w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
    center = (rng.uniform(0.15, 0.85) * W, rng.uniform(0.15, 0.85) * H)
    box = cv2.boxPoints((center, (w, h), float(rng.choice([0, 0, 15, 30, 45]))))
    cv2.fillPoly(mask, [box.astype(np.int32)], 1)


UNSEEN = (_brush_path, _irregular_blob, _rectangle)


def unseen_mask(shape: tuple[int, int], rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A mask of the unseen family whose hole ratio lies in [low, high)."""
    for _ in range(1000):
        mask = np.zeros(shape, np.uint8)
        while mask.mean() < low:
            trial = mask.copy()
            UNSEEN[rng.integers(len(UNSEEN))](trial, rng)
            if trial.mean() < high:
                mask = trial
            elif rng.random() < 0.3:
                break
        if low <= mask.mean() < high:
            return mask.astype(bool)
    raise RuntimeError(f"could not draw an unseen-family mask in [{low}, {high})")


# ---- figures ------------------------------------------------------------------------------------------------------
@torch.no_grad()
def vgg_distance(vgg, a: np.ndarray, b: np.ndarray) -> float:
    x, y = (preprocess(F.interpolate(torch.from_numpy(np.array(v)).permute(2, 0, 1)[None].float() / 255, size=128,
                                     mode="bilinear", antialias=True)) for v in (a, b))
    fx, fy = vgg(x, STYLE_LAYERS), vgg(y, STYLE_LAYERS)
    return float(sum(F.l1_loss(fx[k], fy[k]) / fy[k].abs().mean().clamp_min(1e-6) for k in STYLE_LAYERS))


def colour_error(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Distance (0..255) between the fill's mean colour and the truth's, over the hole."""
    return float(np.linalg.norm(out[hole].mean(0) - truth[hole].astype(np.float64).mean(0)))


def seam_ratio(out: np.ndarray, hole: np.ndarray, spacing: int = 64) -> float:
    """Gradient energy inside holes on grid lines every ``spacing`` px over the energy elsewhere inside holes."""
    gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))  # a vertical tile edge shows as a jump across it
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    lines = np.zeros(hole.shape, bool)
    lines[spacing::spacing, :] = True
    lines[:, spacing::spacing] = True
    on, off = hole & lines, hole & ~lines
    return float(energy[on].mean() / max(energy[off].mean(), 1e-6)) if on.any() and off.any() else 1.0


def centre_square(image: Image.Image) -> Image.Image:
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="zip of 128 px faces (hold-out by file name)")
    parser.add_argument("--images", type=int, default=10, help="held-out faces per band")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], help="photo sizes (px)")
    parser.add_argument("--families", nargs="+", default=["ours", "unseen"], help="mask families")
    parser.add_argument("--split", choices=("holdout", "validation"), default="holdout",
                        help="holdout: the faces figures are reported on; validation: the faces choices are tuned on")
    parser.add_argument("--photos", nargs="+", help="folders of images to use instead of the held-out faces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / INPAINTER), help="inpainter checkpoint folder")
    parser.add_argument("--fill-upscaler", metavar="DETAIL", type=float, default=None,
                        help="also score 'learned_upscaled': fills made at a reduced scale brought back by the face "
                             "upscaler at this detail instead of bicubic")
    args = parser.parse_args()
    methods = METHODS + (("learned_upscaled",) if args.fill_upscaler is not None else ())
    enlarge = (functools.partial(FaceUpscaler(CHECKPOINTS / UPSCALER).enlarge_to, detail=args.fill_upscaler)
               if args.fill_upscaler is not None else None)
    if args.photos:
        photos = [decode_image(path) for folder in args.photos for path in sorted(Path(folder).iterdir())
                  if path.suffix.lower() in (".jpg", ".jpeg", ".png")]
        held_out = [centre_square(photo) for photo in photos][: args.images]
    else:
        images, summary = load_images(args.data, 128)
        chosen = is_holdout if args.split == "holdout" else is_validation
        held_out = [Image.fromarray(images[i].permute(1, 2, 0).numpy())
                    for i in drawn_from(summary.names, chosen, args.images)]
    model, vgg = load_inpainter(Path(args.checkpoint)), load_vgg16()
    draw = {"ours": mask_in_band, "unseen": unseen_mask}
    gains = {}
    for size in args.sizes:
        for family in args.families:
            rng = np.random.default_rng([args.seed, size, ["ours", "unseen"].index(family)])
            for low, high in HOLE_BANDS:
                scores = {m: {"psnr": [], "ssim": [], "vgg": [], "colour": []} for m in methods}
                seams = []
                for face in held_out:
                    clean = np.asarray(face.resize((size, size), Image.Resampling.BICUBIC))
                    hole = draw[family]((size, size), rng, low, high)
                    damaged = clean.copy()
                    damaged[hole] = 255
                    mask = Image.fromarray(hole.astype(np.uint8) * 255)
                    for method in methods:
                        upscaled = method == "learned_upscaled"
                        out = np.asarray(repair(Image.fromarray(damaged), mask, "learned" if upscaled else method,
                                                model=model, enlarge=enlarge if upscaled else None).image)
                        a, b = (torch.from_numpy(np.array(x)).permute(2, 0, 1) for x in (out, clean))
                        scores[method]["psnr"].append(psnr(a, b))
                        scores[method]["ssim"].append(ssim(a, b))
                        scores[method]["vgg"].append(vgg_distance(vgg, out, clean))
                        scores[method]["colour"].append(colour_error(out, clean, hole))
                        if method == "learned":
                            seams.append(seam_ratio(out, hole))
                band = f"{int(low * 100)}-{int(high * 100)}%"
                row = {"benchmark": "inpaint_quality", "size": size, "family": family, "band": band,
                       "images": len(held_out), "learned_seam_ratio": round(float(np.mean(seams)), 3),
                       **{m: {k: round(float(np.mean(v)), 4) for k, v in s.items()} for m, s in scores.items()}}
                gains[f"{size}px {family} {band}"] = round(row["learned"]["psnr"] - row["telea"]["psnr"], 2)
                print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "inpaint_quality", "machine": machine_info(), "precision": "fp32",
                      "checkpoint": args.checkpoint,
                      "images": "photos: " + " ".join(args.photos) if args.photos else f"faces, {args.split}",
                      "learned_minus_telea_psnr_db": gains}))


if __name__ == "__main__":
    main()
