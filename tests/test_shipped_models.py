"""The weights in checkpoints/ are trained, not random: each shipped model does its job on real faces.

Faces come from data/faces-mini.zip (in the repo), so these run on a fresh clone without ../shared: its 120
faces in the hashed hold-out (`is_holdout`), which the inpainter, damage detector and encoder never trained on
(the face generator trained on every UTKFace face: no face it has not seen exists here). Thresholds: the
measured figure of 16-face sets drawn from the 120 at their 1st percentile (2,000 draws; `python
benchmarks/shipped_model_margins.py`).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gan_art.attributes import load_classifier, predict
from gan_art.checkpoints import load_generator
from gan_art.damage import apply_damage, mask_in_band
from gan_art.data import load_images
from gan_art.encoder import load_encoder
from gan_art.explore import generate_seeds, synthesize
from gan_art.images import to_float
from gan_art.inpaint import detect_damage, load_inpainter, load_segmenter, repair
from gan_art.metrics import psnr
from gan_art.repair_training import is_holdout
from tests.conftest import REPO

CHECKPOINTS = REPO / "checkpoints"


def holdout_faces() -> torch.Tensor:
    """Every 7th of the built-in set's 120 hold-out faces: 16 faces of all ages (names start with the age)."""
    images, summary = load_images(REPO / "data" / "faces-mini.zip", 64)
    return images[torch.tensor([is_holdout(name) for name in summary.names])][::7][:16]


@pytest.fixture(scope="module")
def faces_128() -> list[np.ndarray]:
    """16 hold-out faces of all ages, enlarged to the 128 px the repair networks work at."""
    return [np.asarray(Image.fromarray(x.permute(1, 2, 0).numpy()).resize((128, 128), Image.Resampling.BICUBIC))
            for x in holdout_faces()]


@pytest.mark.parametrize("name", ["faces", "faces-dcgan"])
def test_face_models_draw_varied_people(name):
    checkpoint = load_generator(CHECKPOINTS / name)
    images = generate_seeds(checkpoint.generator, list(range(64)), truncation_psi=1.0)
    scores = predict(load_classifier(CHECKPOINTS / "attributes", "b"), images)
    female = float((scores[:, 0] > 0).float().mean())
    # An untrained or collapsed generator gives one kind of picture; real faces span genders and ages.
    assert 0.2 < female < 0.8, female
    assert float(scores[:, 1].std()) > 8, scores[:, 1]
    assert float(images.float().std(0).mean()) > 30  # the 64 pictures differ from each other


def test_inpainter_beats_telea_on_large_holes(faces_128):
    model = load_inpainter()
    rng = np.random.default_rng(0)
    gains = []
    for face in faces_128:
        hole = mask_in_band(face.shape[:2], rng, 0.3, 0.4)
        mask = Image.fromarray((hole * 255).astype(np.uint8))
        truth = torch.from_numpy(face.copy())
        learned = repair(Image.fromarray(face), mask, "learned", model=model).image
        telea = repair(Image.fromarray(face), mask, "telea").image
        gains.append(psnr(torch.from_numpy(np.array(learned)), truth)
                     - psnr(torch.from_numpy(np.array(telea)), truth))
    assert np.mean(gains) > 2.9, gains  # measured on the 120: +4.0 dB


def test_a_mirrored_face_is_repaired_as_the_mirror_image(faces_128):
    """The fill is the mean of the network's guesses for the photo and for its mirror image, so it does not
    depend on which way the face looks (single guesses differ by 13 levels on average inside this hole)."""
    face, model = faces_128[3], load_inpainter()
    mask = Image.new("L", (128, 128), 0)
    mask.paste(255, (25, 32, 64, 96))
    hole = np.asarray(mask) >= 128
    straight = np.asarray(repair(Image.fromarray(face), mask, "learned", model=model).image, float)
    mirrored = repair(Image.fromarray(face[:, ::-1].copy()), mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                      "learned", model=model).image
    assert np.abs(straight - np.asarray(mirrored, float)[:, ::-1])[hole].mean() < 1.0


def test_damage_detector_finds_synthetic_damage(faces_128):
    model = load_segmenter()
    rng = np.random.default_rng(1)
    intersection = union = 0
    for face in faces_128:
        damaged, truth = apply_damage(face, rng)
        found = np.asarray(detect_damage(Image.fromarray(damaged), model=model)) > 0
        intersection += (found & truth).sum()
        union += (found | truth).sum()
    assert intersection / union > 0.75, intersection / union  # measured on the 120: 0.876


def test_the_face_encoder_guesses_real_faces_far_better_than_the_average_face():
    checkpoint = load_generator(CHECKPOINTS / "faces")
    generator, encoder = checkpoint.generator, load_encoder(CHECKPOINTS / "faces")
    faces = holdout_faces()
    with torch.no_grad():
        guesses = synthesize(generator, encoder(to_float(faces))[:, None].repeat(1, generator.num_ws, 1))
    average = synthesize(generator, generator.w_avg[None, None].repeat(1, generator.num_ws, 1))[0]
    gains = np.array([psnr(guess, face) - psnr(average, face) for guess, face in zip(guesses, faces)])
    # measured on the 120: +6.0 dB on average, better on all; an untrained encoder is about +0
    assert gains.mean() > 4.8 and (gains > 0).all(), gains
