"""Edits carried onto the user's own photo, against today's paste-back of the generator's face.

    python benchmarks/photo_edit_quality.py [--faces 30] [--steps 100] [--threads 2]

Each photo: a face of the hashed hold-out (the 200 px originals, never trained on by any network of ours) at
150-400 px, pasted at a random place into a random crop of one of the team's paintings (as
``face_detection.py`` does), 640-1200 px wide. The face is found, reconstructed (``--steps``), then edited with
age +2 and gender +2 separately. For the edit carried onto the photo (ours) and for the generator's edited face
pasted back (``paste_back``, at 64 px as before and at 128 px through the upscaler):

* no edit: the largest change of any pixel (ours must be 0 or 1);
* attribute moved the asked way: the independent classifier (``attributes/classifier-b``, which did not pick the
  directions) on the face re-found and re-aligned in the output photo, against the same in the input photo;
* pixels changed outside the face's blend region (ours: must be none);
* sharpness kept: variance of the Laplacian inside the face ellipse, output over input;
* identity: VGG16 feature distance (LPIPS form) between the input's and the output's re-aligned faces at 128 px;
* time: a photo-mode slider move (edit + the 256 px view + PNG), and the CLI edit of a 2000x1500 photo.

Prints one JSON line; ``--pictures DIR`` also writes three before/after strips.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from gan_art.attributes import load_classifier, predict
from gan_art.data import load_images
from gan_art.explore import png_with_recipe
from gan_art.faces import align, face_ellipse, find_faces, paste_back
from gan_art.images import to_float
from gan_art.machine import machine_info
from gan_art.metrics import feature_distance
from gan_art.nets.vgg import load_vgg16, preprocess
from gan_art.paths import CHECKPOINTS, REPO, SHARED_DATA
from gan_art.repair_training import is_holdout
from gan_art.studio import Studio

EDITS = {"age": ("age", 1), "gender": ("gender", 0)}  # direction -> (name, classifier output index)
LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_1")


def make_photo(face: Image.Image, painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple]:
    width = int(rng.integers(640, 1201))
    height = int(width * rng.uniform(0.6, 0.8))
    side = int(rng.integers(150, min(401, height - 10)))
    scale = max(width / painting.width, height / painting.height) * rng.uniform(1.0, 1.5)
    background = painting.resize((round(painting.width * scale) + 1, round(painting.height * scale) + 1))
    left, top = rng.integers(0, background.width - width + 1), rng.integers(0, background.height - height + 1)
    photo = background.crop((left, top, left + width, top + height))
    x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
    photo.paste(face.resize((side, side), Image.Resampling.LANCZOS), (x, y))
    return photo, (x, y, side)


def refound(photo: Image.Image, place: tuple, resolution: int):
    """The pasted face found again in ``photo`` and aligned at ``resolution`` (None when it is not found)."""
    x, y, side = place
    for face in find_faces(photo):
        if x <= (face.box[0] + face.box[2]) / 2 <= x + side and y <= (face.box[1] + face.box[3]) / 2 <= y + side:
            return align(photo, face, resolution)
    return None


def region_weights(photo: Image.Image, transform: np.ndarray, resolution: int) -> np.ndarray:
    """The face ellipse of an aligned frame warped into the photo, (H, W) in [0, 1]."""
    inverse = cv2.invertAffineTransform(np.asarray(transform, np.float64).reshape(2, 3))
    return cv2.warpAffine(face_ellipse(resolution), inverse, photo.size, flags=cv2.INTER_LINEAR)


def laplacian_variance(photo: Image.Image, inside: np.ndarray) -> float:
    grey = cv2.cvtColor(np.asarray(photo), cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[inside].var())


@torch.no_grad()
def vgg_distance(vgg, a: Image.Image, b: Image.Image) -> float:
    fa, fb = (vgg(preprocess((to_float(torch.from_numpy(np.array(x)).permute(2, 0, 1)[None]) + 1) / 2), LAYERS)
              for x in (a, b))
    return float(feature_distance(fa, fb)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-200.zip"))
    parser.add_argument("--faces", type=int, default=30)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pictures", help="write before/after strips of the first three photos here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    images, _ = load_images(args.data, 200, select=is_holdout)
    chosen = rng.permutation(len(images))[: args.faces]
    paintings = [Image.open(p).convert("RGB") for p in sorted((SHARED_DATA / "styles").glob("*.jpg"))]
    outputs = Path(tempfile.mkdtemp(prefix="photo-edit-"))
    studio = Studio(outputs_root=outputs)
    resolution = studio.model("faces").checkpoint.model.resolution
    classifier, vgg = load_classifier(CHECKPOINTS / "attributes", "b"), load_vgg16()
    rows, view_seconds, strips = [], [], []
    for n, index in enumerate(chosen):
        face_image = Image.fromarray(images[index].permute(1, 2, 0).numpy())
        photo, place = make_photo(face_image, paintings[n % len(paintings)], rng)
        aligned = refound(photo, place, resolution)
        if aligned is None:
            rows.append({"found": False})
            continue
        *_, (_, _, recipe) = studio.invert_face(aligned, "faces", args.steps)
        before = refound(photo, place, 128)
        inside = region_weights(photo, recipe.photo_face, resolution) > 0.5
        ellipse_any = region_weights(photo, recipe.photo_face, resolution) > 0
        row = {"found": True, "face_px": place[2], "reconstruction_distance": studio.reconstruction_distance(
                   aligned, recipe),
               "no_edit_max_change": int(np.abs(np.asarray(studio.edited_photo(photo, recipe), int)
                                                - np.asarray(photo, int)).max())}
        plain, _ = studio.render(dataclasses.replace(recipe, upscaler=""))
        row["paste_back_no_edit_vgg"] = vgg_distance(vgg, before.image, refound(
            paste_back(photo, aligned, Image.fromarray(plain)), place, 128).image)
        strip = [np.asarray(photo.crop((place[0], place[1], place[0] + place[2], place[1] + place[2])))]
        for edit, (name, output) in EDITS.items():
            edited_recipe = dataclasses.replace(recipe, directions={name: 2.0})
            ours = studio.edited_photo(photo, edited_recipe)
            generated_64, _ = studio.render(dataclasses.replace(edited_recipe, upscaler=""))
            generated_128, _ = studio.render(edited_recipe)
            outputs_by_way = {"ours": ours,
                              "paste_back_64": paste_back(photo, aligned, Image.fromarray(generated_64)),
                              "paste_back_128": paste_back(photo, aligned, Image.fromarray(generated_128))}
            for way, out in outputs_by_way.items():
                again = refound(out, place, 128)
                changed = np.abs(np.asarray(out, int) - np.asarray(photo, int)).max(2) > 0
                result = {"refound": again is not None,
                          "changed_outside": int((changed & ~ellipse_any).sum()),
                          "sharpness_ratio": laplacian_variance(out, inside) / laplacian_variance(photo, inside)}
                if again is not None:
                    scores = predict(classifier, torch.stack([
                        torch.from_numpy(np.array(x.image.resize((64, 64), Image.Resampling.LANCZOS))).permute(
                            2, 0, 1) for x in (before, again)]))
                    result["moved"] = float(scores[1, output] - scores[0, output])
                    result["vgg_to_input"] = vgg_distance(vgg, before.image, again.image)
                row[f"{edit}_{way}"] = result
            if n < 3:
                strip += [np.asarray(o.crop((place[0], place[1], place[0] + place[2], place[1] + place[2])))
                          for o in outputs_by_way.values()]
        if n < 3:
            strips.append(strip)
        view = studio.face_view(photo, recipe)
        for value in np.linspace(-2, 2, 8):
            start = time.perf_counter()
            edited, generated, stamped = studio.edited_face(view, dataclasses.replace(recipe, directions={
                "age": float(value)}))
            png_with_recipe(edited, stamped), png_with_recipe(generated, stamped)
            view_seconds.append(time.perf_counter() - start)
        rows.append(row)
        print(json.dumps({"photo": n, **row}), file=sys.stderr, flush=True)

    found = [r for r in rows if r["found"]]
    summary = {"benchmark": "photo_edit_quality", "machine": machine_info(), "precision": "fp32",
               "faces": len(rows), "found": len(found), "steps": args.steps,
               "no_edit_max_change": max(r["no_edit_max_change"] for r in found),
               "reconstruction_distance": {q: round(float(np.percentile([r["reconstruction_distance"] for r in found],
                                                                        p)), 3) for q, p in (("p50", 50), ("p90", 90))},
               "paste_back_no_edit_vgg_median": round(float(np.median([r["paste_back_no_edit_vgg"] for r in found])),
                                                      4)}
    for edit in EDITS:
        for way in ("ours", "paste_back_64", "paste_back_128"):
            cells = [r[f"{edit}_{way}"] for r in found]
            seen = [c for c in cells if c["refound"]]
            summary[f"{edit}_{way}"] = {
                "refound": len(seen),
                "moved_asked_way": round(sum(c["moved"] > 0 for c in seen) / max(len(seen), 1), 3),
                "moved_median": round(float(np.median([c["moved"] for c in seen])), 3),
                "photos_changed_outside_face": sum(c["changed_outside"] > 0 for c in cells),
                "sharpness_ratio_median": round(float(np.median([c["sharpness_ratio"] for c in cells])), 3),
                "sharpness_ratio_min": round(float(np.min([c["sharpness_ratio"] for c in cells])), 3),
                "vgg_to_input_median": round(float(np.median([c["vgg_to_input"] for c in seen])), 4)}
    summary["photo_mode_slider_ms"] = {"p50": round(1000 * float(np.median(view_seconds)), 1),
                                       "p95": round(1000 * float(np.percentile(view_seconds, 95)), 1)}
    summary["cli_edit_2000x1500_s"] = time_cli(images[chosen[0]], outputs, args.threads)
    if args.pictures:
        save_strips(strips, Path(args.pictures) / "photo_edit_examples.png")
    print(json.dumps(summary))


def time_cli(face: torch.Tensor, folder: Path, threads: int) -> float:
    """Seconds of `python -m gan_art edit` on a 2000x1500 photo with one 500 px face, start to finish."""
    photo = Image.new("RGB", (2000, 1500), (120, 110, 100))
    photo.paste(Image.fromarray(face.permute(1, 2, 0).numpy()).resize((500, 500), Image.Resampling.LANCZOS),
                (700, 400))
    photo.save(folder / "big.jpg", quality=92)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gan_art", "edit", "--image", str(folder / "big.jpg"), "--out",
                    str(folder / "big-edited.jpg"), "--direction", "age=2"], cwd=REPO, env=env, check=True,
                   capture_output=True)
    return round(time.perf_counter() - start, 2)


def save_strips(strips: list[list[np.ndarray]], path: Path) -> None:
    """Rows: input | ours age+2 | paste-back 64 age+2 | paste-back 128 age+2 | ours gender+2 | ... at 256 px."""
    rows = [np.concatenate([cv2.resize(x, (256, 256), interpolation=cv2.INTER_AREA) for x in strip], 1)
            for strip in strips]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(path)


if __name__ == "__main__":
    main()
