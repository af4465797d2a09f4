"""Training on 100 images of one's own for 10 minutes on a CPU: the transfer recipe against plain --resume-from
and training from scratch (issue 24).

    python benchmarks/transfer_quality.py [--domain old-photo|sketch|painting] [--minutes 2,5,10]
        [--ways transfer,resume,scratch,tab] [--pictures benchmarks/results]

A domain is made from UTKFace faces by a fixed look (``old-photo``: grey, sepia, low contrast, grain and a
vignette; ``sketch``: a pencil drawing by colour-dodge of the blurred negative; ``painting``: restyled by the Style
tab's fast stylizer after Udnie, a painting in ``shared/data/styles``). Training: 100 faces of the
training split (not the hash hold-out or validation buckets). Evaluation: 500 faces drawn at random from the hash
hold-out, in the same look. No network trained on the evaluation faces in this look; the shipped face model did
see them as photos (it trained on all of train-64.zip).

Each way trains in one process for the first figure's minutes of step time, then resumes for the next (the
evaluation stays outside the step time); ``tab``, the transfer as a user gets it from the Train tab, trains in the
app's worker for the last figure's minutes of wall time (worker start and speed probe included). SWD x1e3 at 64 px
of 250 generated images (EMA) against one half of the evaluation set, next to the two halves against each other
(same count, since SWD depends on it), and next to the look applied to the face model's own faces for the same
latents (``look_on_parent``): what a transfer that learned the look exactly, and kept the face model's faces,
would score; the face model's own faces (``parent_untouched_draws``): where every way starts; and the 100
training images drawn with replacement (``training_images_draws``): what a generator that gave them back would
score (the memorisation check below makes sure no way gets its figure that way). The look on the face model's
faces also gets the memorisation check (``look_on_parent_memorisation``): what a model that never saw the
training images scores there, copying aside. Writes one JSON line and, with ``--pictures DIR``, the final sample
grid of each way. ``--ways ""`` measures only these references.

After the last figure, each way's memorisation check (VGG16 feature distance of 200 generated and 200 evaluation
images to their nearest training image, with a picture of generated images above their nearest training images)
and, for the ways that start from the face model, the share of its faces that the independent attribute
classifier (b) sees move the asked way for the age and gender sliders Explore gives it, at +2.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from gan_art.attributes import load_classifier
from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.devtools import AppServer, wait_until
from gan_art.directions import inherited_directions, load_directions, moved_shares
from gan_art.explore import sample_images
from gan_art.images import image_grid, save_png
from gan_art.machine import machine_info
from gan_art.metrics import swd
from gan_art.nets.vgg import load_vgg16, preprocess
from gan_art.paths import ATTRIBUTES, CHECKPOINTS, FACES, SHARED_DATA
from gan_art.repair_training import is_holdout, is_validation
from gan_art.rundir import RunDir
from gan_art.runs import TrainRequest, app_config
from gan_art.style import stylize_fast
from gan_art.training import COLOUR_SET_RECIPE, run_from_checkpoint, train, transfer_config

TRAIN_IMAGES, EVAL_IMAGES, GENERATED = 100, 500, 250
# each figure is also given as its mean over draws (``*_draws``): one draw of 250 images spreads by about 3 on
# its own (the look on the face model over five draws of latents: 32.4 to 39.6)
DRAWS = 4


def old_photo(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = face.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = 0.75 * grey + 30  # faded: low contrast, lifted blacks
    tinted = np.stack([grey * 1.08 + 8, grey, grey * 0.8], -1)  # sepia
    side = face.shape[0]
    y, x = np.mgrid[0:side, 0:side] / (side - 1) * 2 - 1
    vignette = 1 - 0.35 * (x**2 + y**2)[..., None]
    grain = rng.normal(0, 6, face.shape[:2])[..., None]
    return np.clip(tinted * vignette + grain, 0, 255).astype(np.uint8)


def sketch(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(255 - grey, (0, 0), 3)
    drawing = cv2.divide(grey, 255 - blurred, scale=256)
    return np.repeat(drawing[..., None], 3, -1)


PAINTING_STYLE = SHARED_DATA / "styles" / "udnie.jpg"
# the Style tab restyles a photo at its own size; a 64 px face would get strokes as large as its eyes
PAINTING_SIDE = 256


@functools.cache
def painting_style() -> Image.Image:
    with Image.open(PAINTING_STYLE) as style:
        return style.convert("RGB")


def painting(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    restyled = stylize_fast(Image.fromarray(face), [(painting_style(), 1.0)], size=PAINTING_SIDE)
    return np.asarray(restyled.resize(face.shape[1::-1], Image.Resampling.LANCZOS))


DOMAINS = {"old-photo": old_photo, "sketch": sketch, "painting": painting}


def random_subset(images: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """``count`` of ``images`` drawn at random. Not the first ones: UTKFace's file names start with the age, so
    in name order the first 500 faces of a bucket are all under 40 or over 99."""
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:count]]


def in_look(name: str, faces: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """uint8 faces (N, 3, H, W) in the domain's look."""
    look = DOMAINS[name]
    return torch.from_numpy(np.stack([look(f.permute(1, 2, 0).numpy(), rng) for f in faces])).permute(0, 3, 1, 2)


def make_domain(name: str, source: Path, folder: Path) -> tuple[Path, torch.Tensor]:
    """(training folder of 100 PNGs, evaluation images (500, 3, 64, 64) uint8) in the domain's look."""
    rng = np.random.default_rng(0)
    images, summary = load_images(source, 64)
    held_out = torch.tensor([is_holdout(n) for n in summary.names])
    training = torch.tensor([not (is_holdout(n) or is_validation(n)) for n in summary.names])
    folder.mkdir(parents=True, exist_ok=True)
    for index, face in enumerate(in_look(name, random_subset(images[training], TRAIN_IMAGES, 0), rng)):
        Image.fromarray(face.permute(1, 2, 0).numpy()).save(folder / f"{index:03d}.png")
    return folder, in_look(name, random_subset(images[held_out], EVAL_IMAGES, 0), rng)


def resampled(training: torch.Tensor, draw: int) -> torch.Tensor:
    """GENERATED of the training images drawn with replacement, half of them mirrored: what a generator that only
    gave its training images back would show."""
    generator = torch.Generator().manual_seed(10 + draw)
    picked = training[torch.randint(len(training), (GENERATED,), generator=generator)]
    mirrored = torch.rand(GENERATED, generator=generator) < 0.5
    picked[mirrored] = picked[mirrored].flip(-1)
    return picked


def latent_draws() -> list[torch.Tensor]:
    return [torch.randn(GENERATED, 512, generator=torch.Generator().manual_seed(1 + draw)) for draw in range(DRAWS)]


def mean_scores(scores: list[dict]) -> dict:
    mean = {key: round(sum(s[key] for s in scores) / len(scores), 3) for key in scores[0]}
    return mean | {"swd_avg_per_draw": [s["swd_avg"] for s in scores]}


def halves_of(evaluation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two fixed halves of an evaluation set that generated images are scored against, GENERATED each."""
    return evaluation[:GENERATED], evaluation[GENERATED:2 * GENERATED]


def mean_of_draws(halves: tuple[torch.Tensor, torch.Tensor], fakes: list[torch.Tensor]) -> dict:
    """Mean SWD of the draws of generated images, each against the evaluation halves in turn, and each draw's."""
    return mean_scores([swd(halves[draw % 2], fake) for draw, fake in enumerate(fakes)])


def real_vs_real_draws(evaluation: torch.Tensor) -> dict:
    """Mean SWD of random splits of the evaluation set into two halves (the first split is the fixed halves)."""
    splits = [torch.arange(len(evaluation))] + [
        torch.randperm(len(evaluation), generator=torch.Generator().manual_seed(draw)) for draw in range(1, DRAWS)]
    return mean_scores([swd(evaluation[order[:GENERATED]], evaluation[order[GENERATED:2 * GENERATED]])
                        for order in splits])


def references(domain: str, evaluation: torch.Tensor, latents: list[torch.Tensor], training: torch.Tensor,
               vgg) -> dict:
    """What the ways are read against besides real-vs-real: the face model's own faces, the look applied to them
    (a transfer that learned the look exactly and kept the face model's faces), with its memorisation check (a
    model that never saw the training images), and the training images."""
    halves = halves_of(evaluation)
    parent = load_generator(CHECKPOINTS / FACES)
    faces = [sample_images(parent.generator, draw[:, :parent.model.z_dim]) for draw in latents]
    looks = [in_look(domain, draw, np.random.default_rng(2)) for draw in faces]
    return {"parent_untouched_draws": mean_of_draws(halves, faces), "look_on_parent": swd(halves[0], looks[0]),
            "look_on_parent_draws": mean_of_draws(halves, looks),
            "look_on_parent_memorisation": memorisation(vgg, looks[0], evaluation, training),
            "training_images_draws": mean_of_draws(halves, [resampled(training, draw) for draw in range(DRAWS)])}


LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_1")


def vgg_features(vgg, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """VGG16 feature maps of uint8 images (N, 3, H, W), unit-normalised over channels, flattened per image and
    divided by the square root of their positions (so that a dot product is a mean over positions)."""
    with torch.no_grad():
        features = vgg(preprocess(images.float() / 255), LAYERS)
    return {k: torch.nn.functional.normalize(v, dim=1).flatten(1) / (v.shape[2] * v.shape[3]) ** 0.5
            for k, v in features.items()}


def nearest_distances(vgg, images: torch.Tensor, training: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image, the feature distance (metrics.feature_distance's form) to its nearest training image and
    that image's index. For unit vectors |a - b|^2 = 2 - 2 a.b, so each layer is one matrix product."""
    a, b = vgg_features(vgg, images), vgg_features(vgg, training)
    return sum(2 - 2 * a[k] @ b[k].T for k in LAYERS).min(1)


def contrast(images: torch.Tensor) -> float:
    """Median over images of the standard deviation of each one's grey levels (0-255): how faint a set is, which
    SWD does not see (it normalises each set's patches)."""
    return round(images.float().mean(1).flatten(1).std(1).quantile(0.5).item(), 1)


def at_contrast(images: torch.Tensor, target: float) -> torch.Tensor:
    """uint8 ``images`` with each one's deviations from its mean grey scaled so that the set's median contrast is
    ``target``."""
    x = images.float()
    mean = x.mean([1, 2, 3], keepdim=True)
    return ((x - mean) * (target / contrast(images)) + mean).round().clamp(0, 255).to(torch.uint8)


def memorisation(vgg, fake: torch.Tensor, evaluation: torch.Tensor, training: torch.Tensor,
                 pictures: Path | None = None, name: str = "") -> dict:
    """Nearest-training-image distances of 200 generated and 200 evaluation images (a generator that copies its
    training images has smaller ones); with ``pictures``, generated images above their nearest training image.
    The ``*_unseen`` medians are the same distances to as many other evaluation images, which no network saw: a
    generator whose images are merely more typical of the domain than real ones (less varied) is as close to these
    as to its training images; one that copies is closer to its training images. ``evaluation_median_at_generated_
    contrast`` is the evaluation images' median with their contrast brought to the generated images': the feature
    distances shrink as images fade (validation sketches at three quarters of their contrast, 30 against 40, read
    2.182 against 2.264), so a generator whose images are paler than the real ones reads lower without copying."""
    unseen = evaluation[-len(training):]  # disjoint from the 200 measured below (500 evaluation images)
    fake_distance, fake_nearest = nearest_distances(vgg, fake[:200], training)
    real_distance, _ = nearest_distances(vgg, evaluation[:200], training)
    fake_contrast = contrast(fake[:200])
    if pictures is not None:
        pairs = torch.cat([fake[:12], training[fake_nearest[:12]]])
        save_png(image_grid(pairs, 12), pictures / f"transfer_{name}_nearest.png")
    return {"generated_median": round(float(fake_distance.median()), 4),
            "evaluation_median": round(float(real_distance.median()), 4),
            "generated_p10": round(float(fake_distance.quantile(0.1)), 4),
            "evaluation_p10": round(float(real_distance.quantile(0.1)), 4),
            "generated_median_unseen": round(float(nearest_distances(vgg, fake[:200], unseen)[0].median()), 4),
            "evaluation_median_unseen": round(float(nearest_distances(vgg, evaluation[:200], unseen)[0].median()), 4),
            "evaluation_median_at_generated_contrast": round(float(nearest_distances(
                vgg, at_contrast(evaluation[:200], fake_contrast), training)[0].median()), 4),
            "generated_contrast": fake_contrast, "evaluation_contrast": contrast(evaluation[:200])}


def directions_after(generator) -> dict:
    """The age and gender sliders Explore gives this model (the face model's, or fitted again on its faces,
    decided with the app's classifier a): the share of its faces that the independent classifier (b) sees move
    the asked way at +2 (0 for a slider Explore leaves out), and where each came from."""
    parent = {d.name: d for d in load_directions(CHECKPOINTS / FACES)}
    kept = {d.name: d for d in inherited_directions(generator, list(parent.values()),
                                                    load_classifier(CHECKPOINTS / ATTRIBUTES, "a"), FACES)}
    shares = moved_shares(generator, list(kept.values()), load_classifier(CHECKPOINTS / ATTRIBUTES, "b"))
    return {name: {"moved": round(shares.get(name, 0.0), 3),
                   "from": "left out" if name not in kept else
                   "face model" if torch.equal(kept[name].vector, parent[name].vector) else "refitted"}
            for name in ("age", "gender")}


def way_config(way: str, data: Path, out: Path):
    bookkeeping = dict(checkpoint_minutes=60.0, sample_every=10**6)
    parent = CHECKPOINTS / FACES
    if way == "transfer":  # at the recipe's length, which on a fast machine ends before the last mark
        return transfer_config(parent, str(data), str(out), **bookkeeping)
    bookkeeping["steps"] = 10**6  # the other ways train until the last mark
    if way == "resume":  # today's recipe: the shipped run's own settings, continued at its step count
        return run_from_checkpoint(parent, out, data=str(data), **bookkeeping)
    request = TrainRequest(resolution=64)  # the tab's defaults otherwise
    cfg = app_config(str(data), request)
    return dataclasses.replace(cfg, out=str(out), **bookkeeping)


def trained(way: str, data: Path, out: Path, marks: list[float]):
    """(minutes, checkpoint folder) at each mark. The ``tab`` way is the Train tab's own run: a fine-tune started
    through the app's API (its worker process, threads and priority) at the tab's default length and stopped after
    the last mark's minutes of wall time from the start request if it has not ended, the worker's start and speed
    probe included; it has only that mark."""
    if way == "tab":
        out.mkdir(parents=True)
        server = AppServer(out, threads=None)
        try:
            client = server.client()
            started = time.monotonic()
            # steps 0: the tab's default length, which on a fast machine ends before the mark
            client.predict(dataset=str(data), model="faces", steps=0, name="tab", api_name="/train_start")
            run = RunDir(out / "runs" / "tab")
            ended = ("finished", "stopped", "failed")
            while run.read_status().get("state") not in ended and time.monotonic() - started < marks[-1] * 60:
                time.sleep(5.0)
            if run.read_status().get("state") not in ended:
                client.predict(run="tab", command="stop", api_name="/train_control")
                wait_until(lambda: run.read_status().get("state") == "stopped", 300, 1.0)
        finally:
            server.stop()
        yield marks[-1], run.latest_checkpoint()
        return
    cfg, done = way_config(way, data, out), 0.0
    for mark in marks:
        leg = dataclasses.replace(cfg, max_minutes=mark - done)
        yield mark, train(leg, resume=RunDir(out).latest_checkpoint() is not None)
        done = mark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=sorted(DOMAINS), default="old-photo")
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-64.zip"))
    parser.add_argument("--minutes", default="2,5,10", help="cumulative minutes of step time to measure at")
    parser.add_argument("--ways", default="transfer,resume,scratch", help="and tab: the Train tab's own run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pictures", help="write each way's final sample grid here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    marks = [float(m) for m in args.minutes.split(",")]
    pictures = Path(args.pictures) if args.pictures else None
    if pictures is not None:  # before the runs: a missing folder must not cost the figures at the end
        pictures.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "transfer_quality", "domain": args.domain, "machine": machine_info(),
              "train_images": TRAIN_IMAGES, "generated": GENERATED}
    with tempfile.TemporaryDirectory() as tmp:
        data, evaluation = make_domain(args.domain, Path(args.data), Path(tmp) / "data")
        halves = halves_of(evaluation)
        result["real_vs_real"] = swd(*halves)
        result["real_vs_real_draws"] = real_vs_real_draws(evaluation)
        latents = latent_draws()
        z = latents[0]
        training = load_images(data, 64)[0]
        vgg = load_vgg16()
        result |= references(args.domain, evaluation, latents, training, vgg)
        shown = ("real_vs_real", "look_on", "parent_", "training_images")
        print(json.dumps({k: result[k] for k in result if k.startswith(shown)}), flush=True)
        for way in filter(None, args.ways.split(",")):
            figures = []
            for mark, final in trained(way, data, Path(tmp) / way, marks):
                checkpoint = load_generator(final)
                config = json.loads((final / "config.json").read_text())
                fakes = [sample_images(checkpoint.generator, draw[:, :checkpoint.model.z_dim]) for draw in latents]
                fake = fakes[0]
                figures.append({"minutes": mark, "step": config["step"], "images_per_s":
                                config["metrics"].get("images_per_s"), "precision": config["precision"],
                                "swd": swd(halves[0], fake), "swd_draws": mean_of_draws(halves, fakes)})
                print(json.dumps({way: figures[-1]}), flush=True)
            result[way] = figures
            # where the two recipes differ
            result[way + "_recipe"] = {k: config["train"][k] for k in (*COLOUR_SET_RECIPE, "lr_d")}
            result[way + "_memorisation"] = memorisation(vgg, fake, evaluation, training, pictures,
                                                         f"{args.domain}_{way}")
            if way != "scratch":
                result[way + "_directions_moved"] = directions_after(checkpoint.generator)
            print(json.dumps({k: v for k, v in result.items() if k.startswith(way + "_")}), flush=True)
            if pictures is not None:
                grid = image_grid(sample_images(checkpoint.generator, z[:36, :checkpoint.model.z_dim]), 6)
                save_png(grid, pictures / f"transfer_{args.domain}_{way}.png")
        if pictures is not None:
            save_png(image_grid(evaluation[:36], 6), pictures / f"transfer_{args.domain}_real.png")
    result["seconds"] = round(time.perf_counter() - START, 1)
    print(json.dumps(result))


START = time.perf_counter()

if __name__ == "__main__":
    main()
