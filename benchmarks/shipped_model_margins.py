"""The figures behind tests/test_shipped_models.py's thresholds, on the built-in set's 120 hold-out faces.

    python benchmarks/shipped_model_margins.py

The faces of data/faces-mini.zip in the hashed hold-out, which the inpainter, damage detector and encoder never
trained on, with the tests' mask and damage generators and seeds (drawn face after face over all 120, so a face's
hole is not the one a test draws for it). Per figure: its value on all
120, and the 1st/5th/50th percentiles of the same figure over 2,000 random 16-face sets (what a test of 16 faces
can see by chance): the tests assert the 1st percentile. One JSON line.
"""
from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from gan_art.checkpoints import load_generator
from gan_art.damage import apply_damage, mask_in_band
from gan_art.data import load_images
from gan_art.encoder import load_encoder
from gan_art.explore import synthesize
from gan_art.images import to_float
from gan_art.inpaint import detect_damage, load_inpainter, load_segmenter, repair
from gan_art.machine import machine_info
from gan_art.metrics import psnr
from gan_art.paths import CHECKPOINTS, FACES, REPO
from gan_art.repair_training import is_holdout


def pixels(image) -> torch.Tensor:
    return torch.from_numpy(np.array(image))


def main() -> None:
    images, summary = load_images(REPO / "data" / "faces-mini.zip", 64)
    faces = images[torch.tensor([is_holdout(name) for name in summary.names])]
    inpainter, segmenter = load_inpainter(), load_segmenter()
    masks, damage = np.random.default_rng(0), np.random.default_rng(1)
    gains, overlaps = [], []
    for face in faces:
        face = np.asarray(Image.fromarray(face.permute(1, 2, 0).numpy()).resize((128, 128), Image.Resampling.BICUBIC))
        hole = Image.fromarray((mask_in_band(face.shape[:2], masks, 0.3, 0.4) * 255).astype(np.uint8))
        learned = repair(Image.fromarray(face), hole, "learned", model=inpainter).image
        telea = repair(Image.fromarray(face), hole, "telea").image
        gains.append(psnr(pixels(learned), pixels(face)) - psnr(pixels(telea), pixels(face)))
        damaged, truth = apply_damage(face, damage)
        found = np.asarray(detect_damage(Image.fromarray(damaged), model=segmenter)) > 0
        overlaps.append(((found & truth).sum(), (found | truth).sum()))
    generator = load_generator(CHECKPOINTS / FACES).generator
    with torch.no_grad():
        guesses = synthesize(generator, load_encoder(CHECKPOINTS / FACES)(to_float(faces))[:, None].repeat(
            1, generator.num_ws, 1))
    average = synthesize(generator, generator.w_avg[None, None].repeat(1, generator.num_ws, 1))[0]
    encoder_gains = np.array([psnr(guess, face) - psnr(average, face) for guess, face in zip(guesses, faces)])
    gains, overlaps = np.array(gains), np.array(overlaps)
    figures = {"inpainter_gain_over_telea_db": lambda i: gains[i].mean(),
               "damage_iou": lambda i: overlaps[i, 0].sum() / overlaps[i, 1].sum(),
               "encoder_gain_over_average_face_db": lambda i: encoder_gains[i].mean(),
               "encoder_better_share": lambda i: (encoder_gains[i] > 0).mean()}
    draws = np.random.default_rng(5)
    subsets = [draws.choice(len(faces), 16, replace=False) for _ in range(2000)]
    result = {"benchmark": "shipped_model_margins", "faces": len(faces), "machine": machine_info()}
    for name, figure in figures.items():
        spread = np.percentile([figure(s) for s in subsets], [1, 5, 50])
        result[name] = {"all": round(float(figure(np.arange(len(faces)))), 3),
                        "16_face_p1_p5_p50": [round(float(v), 3) for v in spread]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
