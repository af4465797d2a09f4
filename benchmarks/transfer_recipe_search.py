"""How the transfer recipe was chosen (issue 24): variants of it trained for the same number of steps on a domain's
100 training images, scored on *validation* faces in the same look, never on the hold-out that
``transfer_quality.py`` reports.

    python benchmarks/transfer_recipe_search.py [--domain sketch] [--steps 770]
        [--variants "recipe freeze_d=0 augment=translation,cutout lr=0.004;freeze_d=4"]

Variants are separated by spaces. A variant is ``recipe`` (TRANSFER_RECIPE as shipped) or
``field=value[;field=value]`` overrides of it (``lr`` sets both learning rates; ``steps`` its own step count).
A fixed step count rather than minutes, so the comparison holds on a busy machine; 770 steps is about 10
minutes of the recipe (batches of 16 with the feature discriminator: 769 in transfer_quality.py) on 2 cores
without native bf16 (a variant of another speed gets its own steps by ``steps=``). With
``checkpoint_every=N;keep_checkpoints=K`` a variant's earlier checkpoints are scored too (``by_step``), so one
long run shows how the figure moves with the steps.
One JSON line per variant (SWD x1e3 at 64 px of 250 generated images against 250 validation faces, the mean of
four draws of latents, and the two halves of 500 validation faces against each other, drawn at random from the
validation bucket; r_t at the end; ``contrast``, the generated images' median contrast, against
``validation_contrast``; ``memorisation``, transfer_quality.py's check against 200 validation faces), then one
with all of them; first a line of the references that ``transfer_quality.py`` gives for the hold-out
(real-vs-real, the face model's faces, the look on them, the training images), here on the validation faces.
The seed moves the shipped recipe's figure little (40.8-42.3 on sketch over seeds 0-3) but some variants' a lot
(FreezeD 2: 38.7 / 47.7), so a variant needs two seeds or more before a hold-out run; and the same code and seeds
gave 45.8 / 45.7 in session 24 against 42.3 / 41.9 in session 18 (another machine of the same kind), so a variant
is compared with the recipe run in the same session.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transfer_quality import (
    DOMAINS,
    GENERATED,
    contrast,
    halves_of,
    in_look,
    latent_draws,
    make_domain,
    mean_of_draws,
    memorisation,
    random_subset,
    real_vs_real_draws,
    references,
)

from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.explore import sample_images
from gan_art.machine import machine_info
from gan_art.metrics import swd
from gan_art.nets.vgg import load_vgg16
from gan_art.paths import CHECKPOINTS, FACES, SHARED_DATA
from gan_art.repair_training import is_validation
from gan_art.rundir import RunDir, step_of
from gan_art.training import train, transfer_config


def validation_faces(name: str, source: Path, count: int) -> torch.Tensor:
    """``count`` validation-bucket faces in the domain's look, uint8 (N, 3, 64, 64)."""
    images, summary = load_images(source, 64)
    picked = random_subset(images[torch.tensor([is_validation(n) for n in summary.names])], count, 0)
    return in_look(name, picked, np.random.default_rng(1))


def generated(checkpoint: Path, latents: list[torch.Tensor]) -> list[torch.Tensor]:
    model = load_generator(checkpoint)
    return [sample_images(model.generator, z[:, :model.model.z_dim]) for z in latents]


def score(fakes: list[torch.Tensor], halves: tuple[torch.Tensor, torch.Tensor]) -> dict:
    return mean_of_draws(halves, fakes) | {"contrast": contrast(torch.cat(fakes))}


def parse_value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def overrides(variant: str) -> dict:
    if variant == "recipe":
        return {}
    values = {}
    for item in variant.split(";"):
        key, text = item.split("=")
        value = parse_value(text)
        values |= {"lr_g": value, "lr_d": value} if key == "lr" else {key: value}
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=sorted(DOMAINS), default="sketch")
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-64.zip"))
    parser.add_argument("--steps", type=int, default=770)
    parser.add_argument("--variants", default="recipe freeze_d=0 freeze_d=4 lr=0.004")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    result = {"benchmark": "transfer_recipe_search", "domain": args.domain, "steps": args.steps,
              "machine": machine_info()}
    with tempfile.TemporaryDirectory() as tmp:
        data, _ = make_domain(args.domain, Path(args.data), Path(tmp) / "data")
        validation = validation_faces(args.domain, Path(args.data), 2 * GENERATED)
        halves = halves_of(validation)
        result["real_vs_real"] = swd(*halves)
        result["real_vs_real_draws"] = real_vs_real_draws(validation)
        result["validation_contrast"] = contrast(validation)
        latents = latent_draws()
        training, vgg = load_images(data, 64)[0], load_vgg16()
        result |= references(args.domain, validation, latents, training, vgg)
        shown = ("_draws", "_contrast", "_memorisation")
        print(json.dumps({k: v for k, v in result.items() if k.endswith(shown)}), flush=True)
        for variant in args.variants.split():
            cfg = transfer_config(CHECKPOINTS / FACES, str(data), str(Path(tmp) / variant), checkpoint_minutes=600.0,
                                  sample_every=10**6, **({"steps": args.steps} | overrides(variant)))
            started = time.perf_counter()
            final = train(cfg)
            minutes = round((time.perf_counter() - started) / 60, 1)
            last = RunDir(cfg.out).read_metrics()[-1]  # D's overfitting (and the adapted colour) at the end
            fakes = generated(final, latents)
            result[variant] = {"swd_draws": score(fakes, halves), "minutes": minutes, "r_t": last["r_t"],
                               "memorisation": memorisation(vgg, fakes[0], validation, training),
                               **{k: last[k] for k in ("color_strength",) if k in last}}
            earlier = [path for path in RunDir(cfg.out).checkpoints() if path != final]
            if earlier:  # kept by checkpoint_every= and keep_checkpoints=: how the figure moves with the steps
                result[variant]["by_step"] = {step_of(p): score(generated(p, latents), halves)["swd_avg"]
                                              for p in earlier}
            print(json.dumps({variant: result[variant]}), flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
