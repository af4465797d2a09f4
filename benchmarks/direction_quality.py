"""Labelled direction quality: does moving the age/gender slider move an independent classifier's score?

    python benchmarks/direction_quality.py [--checkpoint checkpoints/faces] [--seeds 200] [--amount 2]

For each of ``--seeds`` random seeds (psi 0.7, the app's default), the image at slider 0 and at
slider +amount are scored by classifier **b** (trained on the half of the labelled faces that
classifier a, which found the directions, never saw). Reports the fraction whose score moves the
expected way, and the same fraction for a random direction of equal length as the baseline (~0.5).
"""
from __future__ import annotations

import argparse
import json

import torch

from gan_art.attributes import load_classifier, predict
from gan_art.checkpoints import load_generator
from gan_art.directions import load_directions
from gan_art.explore import (
    Direction,
    Recipe,
    recipe_ws,
    synthesize,
)
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS

SCORE_INDEX = {"gender": 0, "age": 1}


def fraction_moved(generator, directions, name: str, classifier, seeds: list[int], amount: float,
                   attribute: str) -> dict:
    """Fraction of seeds whose ``attribute`` score rises when direction ``name`` moves by +amount."""
    index = SCORE_INDEX[attribute]
    before, after = [], []
    for seed in seeds:
        plain = recipe_ws(generator, directions, Recipe(seed=seed, truncation_psi=0.7))
        edited = recipe_ws(generator, directions, Recipe(seed=seed, truncation_psi=0.7, directions={name: amount}))
        scores = predict(classifier, synthesize(generator, torch.cat([plain, edited])))
        before.append(scores[0, index])
        after.append(scores[1, index])
    delta = torch.stack(after) - torch.stack(before)
    return {"fraction_expected_way": round(float((delta > 0).float().mean()), 3),
            "mean_score_change": round(float(delta.mean()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / "faces"))
    parser.add_argument("--attributes", default=str(CHECKPOINTS / "attributes"))
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--amount", type=float, default=2.0)
    args = parser.parse_args()
    generator = load_generator(args.checkpoint).generator
    directions = {d.name: d for d in load_directions(args.checkpoint)}
    classifier = load_classifier(args.attributes, "b")
    seeds = list(range(100_000, 100_000 + args.seeds))
    result = {"benchmark": "direction_quality", "checkpoint": args.checkpoint, "seeds": args.seeds,
              "amount": args.amount, "scored_by": "classifier-b"}
    for name in ("age", "gender"):
        if name not in directions:
            raise SystemExit(f"{args.checkpoint} has no {name!r} direction; run python -m gan_art directions "
                             f"--checkpoint {args.checkpoint} --attributes {args.attributes}")
        result[name] = fraction_moved(generator, directions, name, classifier, seeds, args.amount, name)
        random_vector = torch.randn(directions[name].vector.shape, generator=torch.Generator().manual_seed(1))
        random_vector *= directions[name].vector.norm() / random_vector.norm()
        baseline = {**directions, "random": Direction("random", "custom", random_vector)}
        result[f"{name}_random_direction_baseline"] = fraction_moved(generator, baseline, "random", classifier,
                                                                     seeds, args.amount, name)
    print(json.dumps({**result, "machine": machine_info(), "precision": "fp32"}))


if __name__ == "__main__":
    main()
