"""Paths no other test walks: inverting with a checkpoint that has no encoder (every user-trained one),
`evaluate.py`'s quality figures, and training the attribute classifiers, each on tiny data."""
from __future__ import annotations

import csv
import math
import shutil

import numpy as np
import torch
from PIL import Image

from gan_art.attributes import faces_seen_by, fit_classifiers, load_classifier, predict
from gan_art.checkpoints import write_checkpoint
from gan_art.config import to_dict
from gan_art.data import load_images
from gan_art.evaluate import evaluate_checkpoint
from gan_art.explore import Recipe
from gan_art.metrics import psnr
from gan_art.models import build_generator
from gan_art.paths import VGG16
from gan_art.studio import Studio
from tests.conftest import REPO, tiny_model


def tiny_checkpoint(root, name="tiny"):
    torch.manual_seed(0)
    cfg = tiny_model()
    return write_checkpoint(root / name, {"model": to_dict(cfg)}, build_generator(cfg).eval())


def test_a_checkpoint_without_an_encoder_inverts_from_the_best_random_faces(tmp_path):
    tiny_checkpoint(tmp_path / "checkpoints")
    shutil.copytree(REPO / "checkpoints" / VGG16, tmp_path / "checkpoints" / VGG16)
    studio = Studio(tmp_path / "checkpoints", tmp_path / "runs", tmp_path / "outputs", default_checkpoint="tiny")
    assert not studio.has_encoder("tiny")
    target, _ = studio.render(Recipe(checkpoint="tiny", seed=5))
    face = studio.face_crop(Image.fromarray(target), "tiny")
    snapshots = list(studio.invert_face(face, "tiny", steps=10))
    likeness = [psnr(torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(target).permute(2, 0, 1))
                for _, image, _ in snapshots]
    assert snapshots[-1][0] == 10 and likeness[-1] > likeness[0]
    assert snapshots[-1][2].projected and snapshots[-1][2].upscaler == ""  # no upscaler named: the model's size


def test_evaluate_gives_finite_figures_that_tell_real_from_noise(tmp_path, image_folder):
    checkpoint = tiny_checkpoint(tmp_path)
    figures = evaluate_checkpoint(checkpoint, image_folder, num_images=16)
    assert figures["num_images"] == 16 and figures["resolution"] == 16 and "not FID" in figures["note"]
    assert all(math.isfinite(figures[k]) for k in ("swd16", "swd_avg", "fd_effnet"))
    assert figures["swd_avg"] > 0 and figures["fd_effnet"] > 0  # an untrained generator is far from the images


def test_attribute_classifiers_train_on_tiny_labelled_data_and_load(tmp_path):
    faces, summary = load_images(REPO / "data" / "faces-mini.zip", 32, max_images=64)
    folder = tmp_path / "faces"
    folder.mkdir()
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "age", "gender", "race"])
        for face, name in zip(faces, summary.names):
            base = name.rsplit("/", 1)[-1]
            Image.fromarray(face.permute(1, 2, 0).numpy()).save(folder / base.replace(".webp", ".png"))
            age, gender = base.split("_")[:2]
            writer.writerow([base.replace(".webp", ".png"), age, gender, 0])
    card = fit_classifiers(folder, tmp_path / "labels.csv", tmp_path / "attributes", resolution=32, epochs=2,
                           log=lambda _: None)
    assert set(card["held_out_accuracy"]) == {"a", "b"}
    assert card["held_out_accuracy"]["a"]["trained_on"] == 32
    seen = {name: faces_seen_by(name, folder, tmp_path / "labels.csv") for name in ("a", "b")}
    assert len(seen["a"]) == len(seen["b"]) == 32 and not seen["a"] & seen["b"]  # restated: disjoint halves
    for name in ("a", "b"):
        scores = predict(load_classifier(tmp_path / "attributes", name), faces)
        assert scores.shape == (64, 2) and torch.isfinite(scores).all()
    assert not np.allclose(predict(load_classifier(tmp_path / "attributes", "a"), faces).numpy(),
                           predict(load_classifier(tmp_path / "attributes", "b"), faces).numpy())
