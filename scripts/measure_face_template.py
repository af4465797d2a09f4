"""Measure gan_art.faces.TEMPLATE: the median landmark positions of the training faces, as crop fractions.

    python scripts/measure_face_template.py [--data ../shared/data/utkface/train-128.zip] [--faces 2000]

Runs the detector on training faces (never the hold-out), padded so that faces touching the crop's
edge are found too, and prints the five (x, y) medians and how many faces were found.
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from gan_art.data import load_images
from gan_art.faces import find_faces
from gan_art.paths import SHARED_DATA
from gan_art.repair_training import is_holdout, is_validation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-128.zip"))
    parser.add_argument("--faces", type=int, default=2000)
    args = parser.parse_args()
    images, summary = load_images(args.data, 128, max_images=args.faces * 2)
    pad = 32
    points = []
    for image, name in zip(images, summary.names):
        if is_holdout(name) or is_validation(name):
            continue
        crop = np.pad(image.permute(1, 2, 0).numpy(), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        faces = find_faces(Image.fromarray(crop))
        if faces:
            points.append((faces[0].landmarks - pad) / 128)
        if len(points) >= args.faces:
            break
    median = np.median(np.stack(points), 0)
    print(f"found faces in {len(points)} crops; TEMPLATE = {np.round(median, 4).tolist()}")


if __name__ == "__main__":
    main()
