"""Damage detection IoU on held-out faces with synthetic damage (never seen in training).

    python benchmarks/damage_iou.py [--images 500] [--data ../shared/data/utkface/train-128.zip]

``--images`` held-out faces (gan_art.repair_training.is_holdout), drawn at random, each get 1-3 random
kinds of damage from a seed the training never used; IoU of the detector's mask with the true damage mask, overall
(pooled over all pixels) and per damage kind. The baseline in the same run: marking every pixel
as damaged.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

from gan_art.damage import DAMAGE_KINDS, apply_damage
from gan_art.data import load_images
from gan_art.inpaint import detect_damage, load_segmenter
from gan_art.machine import machine_info
from gan_art.paths import SHARED_DATA
from gan_art.repair_training import drawn_from, is_holdout

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-128.zip"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--size", type=int, default=128, help="faces are resized to this before damage is drawn")
    args = parser.parse_args()
    images, summary = load_images(args.data, 128)
    held_out = drawn_from(summary.names, is_holdout, args.images)
    model = load_segmenter()
    rng = np.random.default_rng(args.seed)
    totals = {"all": [0, 0], **{k: [0, 0] for k in DAMAGE_KINDS}}
    per_image, baseline = [], []
    for index in held_out:
        clean = np.asarray(Image.fromarray(images[index].permute(1, 2, 0).numpy()).resize((args.size, args.size),
                                                                                            Image.Resampling.LANCZOS))
        kinds = tuple(rng.choice(DAMAGE_KINDS, size=int(rng.integers(1, 4)), replace=False))
        damaged, truth = apply_damage(clean, rng, kinds)
        found = np.asarray(detect_damage(Image.fromarray(damaged), model=model)) >= 128
        inter, union = int((found & truth).sum()), int((found | truth).sum())
        per_image.append(inter / union if union else 1.0)
        baseline.append(float(truth.mean()))  # IoU of marking every pixel as damaged
        for key in ("all", *kinds):
            totals[key][0] += inter
            totals[key][1] += union
    by_kind = {k: round(v[0] / v[1], 4) for k, v in totals.items() if k != "all" and v[1]}
    print(json.dumps({"benchmark": "damage_iou", "machine": machine_info(), "precision": "fp32",
                      "images": len(held_out), "size": args.size,
                      "iou_pooled": round(totals["all"][0] / totals["all"][1], 4),
                      "iou_mean_per_image": round(float(np.mean(per_image)), 4), "iou_by_kind_pooled": by_kind,
                      "baseline_mark_everything_iou_mean": round(float(np.mean(baseline)), 4)}))


if __name__ == "__main__":
    main()
