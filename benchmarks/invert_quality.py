"""Inversion of real faces: reconstruction against the best of 1,000 seeds, editability, and time.

    python benchmarks/invert_quality.py [--faces 20] [--steps 100] [--layer-spread 0.1] [--split holdout]

Faces: UTKFace faces of the hashed hold-out (``--split validation`` for the faces choices are tuned on) that
the encoder and the attribute classifier b never trained on, already aligned by the dataset, at the
checkpoint's resolution. The shipped generator did train on them (it saw every UTKFace face; no other faces are
at hand), so a reconstruction here can be better than on a stranger's photo. For each:

* baseline: the best of 1,000 random seeds (psi = 1) by PSNR;
* ``seeds_start``: the best of 64 seeds by pixel + VGG likeness, and ``seeds_refined`` after ``--steps``
  optimisation steps from it;
* ``encoder_start`` / ``encoder_refined``: the same from the checkpoint's encoder (when it has one: what
  the app then uses);

PSNR and VGG16 distance (relative L1 on relu1_1..relu4_1) of each, the two terms the inversion minimises; and
one it does not: whether the face keeps its attributes, by classifier b (which the inversion never sees) on the
photo and on the reconstruction: the share of faces whose gender call agrees and the median age gap in years.
Editability: +2 units of the labelled age and gender directions on the refined latent, the share of faces
where classifier b moves the same way (older; more female); and seconds per 100 steps. One JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from gan_art.attributes import faces_seen_by, load_classifier, predict
from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.directions import load_directions
from gan_art.encoder import encode_face, load_encoder
from gan_art.explore import sample_ws, synthesize
from gan_art.images import to_float
from gan_art.invert import Likeness, invert
from gan_art.machine import machine_info
from gan_art.metrics import psnr
from gan_art.nets.vgg import load_vgg16
from gan_art.paths import ATTRIBUTES, CHECKPOINTS, FACES, SHARED_DATA
from gan_art.repair_training import is_holdout, is_validation


def vgg_distance(likeness: Likeness, image: torch.Tensor) -> float:
    with torch.no_grad():
        return float(likeness.perceptual_distance(to_float(image[None])))


def attribute_gap(classifier, image: torch.Tensor, photo_scores: torch.Tensor) -> tuple[float, float]:
    """(1.0 if classifier's gender call for ``image`` agrees with the photo's else 0.0, age gap in years)."""
    scores = predict(classifier, image[None])[0]
    return float((scores[0] > 0) == (photo_scores[0] > 0)), float(abs(scores[1] - photo_scores[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / FACES))
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-128.zip"))
    parser.add_argument("--faces", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--layer-spread", type=float, default=0.1, help="pull of each layer's w to their mean")
    parser.add_argument("--seeds", type=int, default=1000, help="random seeds of the baseline")
    parser.add_argument("--split", choices=("holdout", "validation"), default="holdout")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkpoint = load_generator(args.checkpoint)
    G, resolution = checkpoint.generator, checkpoint.model.resolution
    vgg, classifier = load_vgg16(), load_classifier(CHECKPOINTS / ATTRIBUTES, "b")
    directions = {d.name: d.vector for d in load_directions(args.checkpoint) if d.kind == "labelled"}
    chosen = is_holdout if args.split == "holdout" else is_validation
    images, summary = load_images(args.data, resolution, max_images=25_000)
    seen_by_b = faces_seen_by("b", SHARED_DATA / "utkface" / "train-64.zip", SHARED_DATA / "utkface" / "labels.csv")
    faces = [i for i, n in enumerate(summary.names) if chosen(n) and Path(n).name not in seen_by_b]
    faces = [faces[i] for i in np.random.default_rng(0).permutation(len(faces))[: args.faces]]
    baseline_ws = sample_ws(G, args.seeds, seed=12345)
    baseline_images = torch.cat([synthesize(G, chunk) for chunk in baseline_ws.split(100)])
    encoder = load_encoder(args.checkpoint)
    starts = ["seeds", "encoder"] if encoder is not None else ["seeds"]
    rows, seconds, moves, encoder_ms = [], {k: [] for k in starts}, {"age": [], "gender": []}, []
    for index in faces:
        target = images[index]
        target_hwc = target.permute(1, 2, 0).numpy()
        likeness = Likeness(vgg, to_float(target[None]))
        photo_scores = predict(classifier, target[None])[0]

        def figures(image: torch.Tensor, target=target, likeness=likeness, photo_scores=photo_scores) -> tuple:
            return (psnr(image, target), vgg_distance(likeness, image), *attribute_gap(classifier, image, photo_scores))

        best = max(baseline_images, key=lambda image: psnr(image, target))
        row = {"baseline": figures(best)}
        for start_kind in starts:
            start_time = time.perf_counter()
            start = None
            if start_kind == "encoder":
                start = encode_face(encoder, target_hwc, G.num_ws)
                encoder_ms.append((time.perf_counter() - start_time) * 1000)
            steps = list(invert(G, vgg, target_hwc, steps=args.steps, start=start, layer_spread=args.layer_spread))
            seconds[start_kind].append(time.perf_counter() - start_time)
            first, last = (torch.from_numpy(s.image).permute(2, 0, 1) for s in (steps[0], steps[-1]))
            row[f"{start_kind}_start"] = figures(first)
            row[f"{start_kind}_refined"] = figures(last)
        rows.append(row)
        ws = steps[-1].ws  # the last start kind's: the encoder's when there is one (what the app uses)
        before = predict(classifier, synthesize(G, ws))[0]
        for name, column in (("gender", 0), ("age", 1)):
            edited = predict(classifier, synthesize(G, ws + 2 * directions[name]))[0]
            moves[name].append(bool(edited[column] > before[column]))
    summary_row = {k: {"psnr": round(float(np.mean([r[k][0] for r in rows])), 2),
                       "vgg": round(float(np.mean([r[k][1] for r in rows])), 3),
                       "gender_agrees": round(float(np.mean([r[k][2] for r in rows])), 3),
                       "age_gap_years": round(float(np.median([r[k][3] for r in rows])), 1)} for k in rows[0]}
    app_start = starts[-1]
    print(json.dumps({
        "benchmark": "invert_quality", "machine": machine_info(), "precision": "fp32", "checkpoint": args.checkpoint,
        "split": args.split,
        "faces": len(rows), "steps": args.steps, "layer_spread": args.layer_spread, **summary_row,
        "app_start": app_start,
        "refined_minus_baseline_psnr_db": round(summary_row[f"{app_start}_refined"]["psnr"]
                                                - summary_row["baseline"]["psnr"], 2),
        "editability": {k: round(float(np.mean(v)), 3) for k, v in moves.items()},
        "encoder_ms": round(float(np.median(encoder_ms)), 1) if encoder_ms else None,
        "seconds_per_100_steps": {k: round(float(np.median(v)) * 100 / args.steps, 2) for k, v in seconds.items()},
        "note": "seconds include finding the start (best of 64 seeds, or the encoder)"}))

if __name__ == "__main__":
    main()
