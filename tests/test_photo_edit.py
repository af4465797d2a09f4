"""Edits carried onto the user's own photo at its resolution: identity without an edit, the edit's direction,
nothing outside the face, the recipe that replays it, the CLI."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from gan_art.__main__ import main
from gan_art.attributes import load_classifier, predict
from gan_art.errors import ImageError
from gan_art.explore import recipe_from_png
from gan_art.faces import AlignedFace, Face, find_faces
from gan_art.photo_edit import aligned_view, carry_edit, check_transform, edit_warnings, edited_view
from gan_art.studio import POOR_RECONSTRUCTION, Recipe, Studio
from tests.conftest import REPO
from tests.test_faces import photo_with_faces

FACE = "faces"
# a face crop of 64 px whose top-left corner sits at (300, 200) of the photo, at twice the crop's scale
TRANSFORM = np.array([[0.5, 0.0, -150.0], [0.0, 0.5, -100.0]])


def test_a_zero_edit_returns_the_photo_and_an_edit_stays_inside_the_face():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (500, 700, 3), dtype=np.uint8))
    assert np.array_equal(np.asarray(carry_edit(photo, TRANSFORM, 64, np.zeros((128, 128, 3), np.float32))),
                          np.asarray(photo))
    edited = np.asarray(carry_edit(photo, TRANSFORM, 64, np.full((128, 128, 3), 40, np.float32)), int)
    changed = np.abs(edited - np.asarray(photo, int)).max(2) > 0
    ys, xs = np.nonzero(changed)
    assert 300 <= xs.min() and xs.max() < 428 and 200 <= ys.min() and ys.max() < 328  # inside the crop's square
    assert changed[264, 364] and not changed[205, 305]  # the face's middle, not the crop's corner
    view = aligned_view(photo, TRANSFORM, 64, 256)
    assert view.shape == (256, 256, 3)
    assert np.array_equal(edited_view(view, np.zeros((64, 64, 3), np.float32)), view)


def test_faces_the_edit_cannot_serve_well_are_named_before_reconstructing():
    frontal = Face((0, 0, 100, 100), np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], float), 0.99)
    turned = Face((0, 0, 100, 100), np.array([[30, 40], [50, 40], [68, 60], [35, 80], [55, 80]], float), 0.99)
    assert edit_warnings(frontal, TRANSFORM, 64) == []
    assert any("turned away" in note for note in edit_warnings(turned, TRANSFORM, 64))
    tiny = TRANSFORM * 4  # 64 px crop from a 32 px face
    assert any("only about 32 px" in note for note in edit_warnings(frontal, tiny, 64))
    with pytest.raises(ImageError, match="reconstruct the face"):
        check_transform([])


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    torch.set_num_threads(1)
    return Studio(outputs_root=tmp_path_factory.mktemp("outputs"), runs_root=tmp_path_factory.mktemp("runs"))


def test_the_photo_comes_back_untouched_without_an_edit_and_older_with_age(studio):
    classifier = load_classifier(REPO / "checkpoints" / "attributes", "b")  # not the one that chose the directions
    for seed, place in ((0, (150, 80, 220)), (1, (260, 120, 180))):
        photo = photo_with_faces(studio, [place])
        face = studio.find_faces(photo, FACE)[0]
        *_, (_, _, recipe) = studio.invert_face(face, FACE, steps=20)
        assert np.array_equal(np.asarray(studio.edited_photo(photo, recipe)), np.asarray(photo))
        older = studio.edited_photo(photo, dataclasses.replace(recipe, directions={"age": 2.0}))
        x, y, side = place
        changed = np.abs(np.asarray(older, int) - np.asarray(photo, int)).max(2) > 0
        assert changed.any() and not changed[:, : x - side // 4].any() and not changed[:, x + side + side // 4:].any()
        faces = [studio.find_faces(p, FACE)[0].image for p in (photo, older)]
        ages = predict(classifier, torch.stack([torch.from_numpy(np.array(f)).permute(2, 0, 1) for f in faces]))[:, 1]
        assert ages[1] > ages[0] + 0.3, f"seed {seed}: age {ages.tolist()} (tens of years)"


def test_cli_edit_writes_the_whole_photo_and_a_recipe_that_replays_it(studio, tmp_path):
    photo_path, out, recipe_png = tmp_path / "photo.png", tmp_path / "edited.png", tmp_path / "recipe.png"
    photo = photo_with_faces(studio, [(200, 100, 200)], size=(700, 450))
    photo.save(photo_path)
    assert main(["edit", "--image", str(photo_path), "--out", str(out), "--direction", "age=2", "--direction",
                 "gender=-1", "--steps", "10", "--recipe-out", str(recipe_png)]) == 0
    edited = np.asarray(Image.open(out).convert("RGB"))
    assert edited.shape == (450, 700, 3) and np.array_equal(edited[:, :120], np.asarray(photo)[:, :120])
    recipe = recipe_from_png(recipe_png.read_bytes())
    assert recipe.directions == {"age": 2.0, "gender": -1.0} and len(recipe.photo_face) == 6
    assert np.array_equal(np.asarray(studio.edited_photo(photo, recipe)), edited)  # recipe + photo = the edit
    assert main(["edit", "--image", str(photo_path), "--out", str(out), "--direction", "age:2"]) == 2
    assert find_faces(Image.open(out))  # the failed call left the earlier output alone


def test_a_face_the_model_cannot_reconstruct_is_named(studio):
    """The generator's own face is reconstructed exactly; another face under the same latent is far beyond the
    threshold (the p90 of 30 hold-out faces after a real reconstruction), so the user hears of it before editing."""
    recipe = Recipe(checkpoint=FACE, seed=3)
    own, _ = studio.render(recipe)
    other, _ = studio.render(Recipe(checkpoint=FACE, seed=5))
    assert studio.reconstruction_note(AlignedFace(Image.fromarray(own), TRANSFORM, None), recipe) == ""
    stranger = AlignedFace(Image.fromarray(other), TRANSFORM, None)
    assert studio.reconstruction_distance(stranger, recipe) > 1.5 * POOR_RECONSTRUCTION
    assert "reconstructs this face poorly" in studio.reconstruction_note(stranger, recipe)
