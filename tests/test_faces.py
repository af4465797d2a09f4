"""Your own face: finding and aligning faces in photos, inverting them into the shipped generator, editing the
projected latent, pasting the edited face back; the CLI's ``invert``; bad photos."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gan_art.__main__ import main
from gan_art.encoder import ENCODER_META, EncoderTraining, load_encoder, save_encoder, train_encoder
from gan_art.errors import CheckpointError, ImageError, RecipeError
from gan_art.explore import Recipe, decode_ws, encode_ws, png_with_recipe, recipe_from_png, sample_ws
from gan_art.faces import TEMPLATE, find_faces, paste_back
from gan_art.images import to_uint8
from gan_art.metrics import psnr
from gan_art.models import build_generator
from gan_art.nets.vgg import load_vgg16
from gan_art.studio import Studio
from tests.conftest import tiny_model

FACE = "faces"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    torch.set_num_threads(1)
    return Studio(outputs_root=tmp_path_factory.mktemp("outputs"), runs_root=tmp_path_factory.mktemp("runs"))


def generated_face(studio: Studio, seed: int, side: int) -> Image.Image:
    """A face the shipped generator makes (a real-looking face that needs no dataset), enlarged to ``side``."""
    image, _ = studio.render(Recipe(checkpoint=FACE, seed=seed, truncation_psi=0.7))
    return Image.fromarray(image).resize((side, side), Image.Resampling.LANCZOS)


def photo_with_faces(studio: Studio, placements: list[tuple[int, int, int]], size=(640, 480)) -> Image.Image:
    """A flat-background photo with generated faces at (x, y, side)."""
    canvas = Image.new("RGB", size, (90, 120, 150))
    for seed, (x, y, side) in enumerate(placements):
        canvas.paste(generated_face(studio, seed, side), (x, y))
    return canvas


def test_faces_are_found_largest_first_and_aligned_like_the_training_faces(studio):
    photo = photo_with_faces(studio, [(40, 60, 120), (330, 150, 220)])
    faces = find_faces(photo)
    assert len(faces) == 2
    big, small = faces
    assert 330 <= (big.box[0] + big.box[2]) / 2 <= 550 and 150 <= (big.box[1] + big.box[3]) / 2 <= 370
    assert 40 <= (small.box[0] + small.box[2]) / 2 <= 160 and big.size > small.size
    aligned = studio.find_faces(photo, FACE)
    resolution = studio.model(FACE).checkpoint.model.resolution
    assert [a.image.size for a in aligned] == [(resolution, resolution)] * 2
    # the aligned crop puts the eyes, nose and mouth where the training faces have them
    landmarks = np.c_[big.landmarks, np.ones(5)] @ aligned[0].transform.T / resolution
    assert np.abs(landmarks - TEMPLATE).max() < 0.06
    # and it shows the face: close to the generator's own image of that seed
    original = generated_face(studio, 1, resolution)
    assert psnr(torch.from_numpy(np.array(aligned[0].image)).permute(2, 0, 1),
                torch.from_numpy(np.array(original)).permute(2, 0, 1)) > 17


def test_a_huge_photo_is_searched_downscaled_and_its_face_still_found(studio):
    photo = photo_with_faces(studio, [(2600, 1200, 900)], size=(5000, 3600))
    faces = find_faces(photo)
    assert len(faces) == 1 and 2500 < faces[0].box[0] < 2900 and faces[0].size > 700


@pytest.mark.parametrize("what", ["no face", "tiny face"])
def test_photos_without_a_usable_face_get_a_clear_message(studio, what):
    photo = (Image.new("RGB", (300, 200), (200, 180, 160)) if what == "no face"
             else photo_with_faces(studio, [(100, 100, 12)], size=(300, 200)))
    with pytest.raises(ImageError, match="no face found"):
        studio.find_faces(photo, FACE)


def test_inversion_streams_a_closer_likeness_and_its_recipe_edits_and_round_trips(studio):
    target, _ = studio.render(Recipe(checkpoint=FACE, seed=4321, upscaler=studio.upscaler_for(FACE)))
    face = studio.face_crop(Image.fromarray(target), FACE)
    snapshots = list(studio.invert_face(face, FACE, steps=30))
    steps = [s for s, _, _ in snapshots]
    assert steps[0] == 0 and steps[-1] == 30 and steps == sorted(steps)
    likeness = [psnr(torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(target).permute(2, 0, 1))
                for _, image, _ in snapshots]
    assert likeness[-1] > likeness[0] + 1.5, likeness
    recipe = snapshots[-1][2]
    image, _ = studio.render(recipe)
    assert np.array_equal(image, snapshots[-1][1])  # the recipe is the reconstruction
    restored = recipe_from_png(png_with_recipe(image, recipe))
    assert restored == recipe and np.array_equal(studio.render(restored)[0], image)  # bit-identical
    older, _ = studio.render(Recipe(**{**recipe.__dict__, "directions": {"age": 2.0}}))
    assert np.abs(older.astype(int) - image).mean() > 2  # the sliders edit the projected face
    mean_face, _ = studio.render(Recipe(**{**recipe.__dict__, "truncation_psi": 0.0}))
    assert np.array_equal(mean_face, studio.render(Recipe(checkpoint=FACE, seed=1, truncation_psi=0.0,
                                                          upscaler=recipe.upscaler))[0])


def test_stopping_an_inversion_stops_at_once(studio):
    face = studio.face_crop(generated_face(studio, 3, 64), FACE)
    calls = []
    hook = studio.model(FACE).generator.synthesis.register_forward_hook(lambda *_: calls.append(1))
    try:
        stream = studio.invert_face(face, FACE, steps=2000)
        first = next(stream)
        done = len(calls)
        stream.close()  # what the app's Stop does
        assert first[0] == 0 and done > 0 and len(calls) == done  # no optimisation step ran after the stop
        with pytest.raises(StopIteration):
            next(stream)
    finally:
        hook.remove()
    with pytest.raises(RecipeError, match="steps"):
        next(studio.invert_face(face, FACE, steps=5000))


def test_a_damaged_or_foreign_projected_latent_is_a_clear_error():
    ws = torch.randn(1, 4, 8)
    assert torch.equal(decode_ws(encode_ws(ws), 4, 8), ws)
    with pytest.raises(RecipeError, match="another generator"):
        decode_ws(encode_ws(ws), 6, 8)
    with pytest.raises(RecipeError, match="damaged"):
        decode_ws("not base64!", 4, 8)


def test_paste_back_changes_only_the_face(studio):
    photo = photo_with_faces(studio, [(200, 100, 200)])
    face = studio.find_faces(photo, FACE)[0]
    edited = Image.new("RGB", face.image.size, (255, 0, 0))
    pasted = np.asarray(paste_back(photo, face, edited), int)
    original = np.asarray(photo, int)
    assert pasted.shape == original.shape
    assert np.array_equal(pasted[:, :150], original[:, :150]) and np.array_equal(pasted[:, 450:], original[:, 450:])
    assert pasted[200, 300, 0] > 200 and pasted[200, 300, 1] < 60  # the middle of the face is the edited face


def test_cli_invert_writes_a_recipe_png_and_the_photo_with_the_face_pasted_back(studio, tmp_path):
    photo_path, out, whole = tmp_path / "photo.jpg", tmp_path / "face.png", tmp_path / "whole.png"
    photo_with_faces(studio, [(200, 100, 200)]).save(photo_path)
    # in this process: the command's own code, without a second process importing torch (test_cli runs the module)
    assert main(["invert", "--image", str(photo_path), "--out", str(out), "--steps", "10", "--paste-back",
                 str(whole)]) == 0
    resolution = studio.model(FACE).checkpoint.model.resolution
    recipe = recipe_from_png(out.read_bytes())
    assert recipe.projected and recipe.upscaler == "upscale-faces"  # shown 2x, as Explore shows it
    assert Image.open(out).size == (2 * resolution, 2 * resolution)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), studio.render(recipe)[0])
    assert Image.open(whole).size == (640, 480)
    assert main(["invert", "--image", str(out), "--aligned", "--out", str(tmp_path / "again.png"), "--steps", "0"]) == 0


@pytest.mark.parametrize("content, message", [(b"GIF89a broken", "not an image"), (None, "no face found")])
def test_cli_invert_refuses_bad_photos_with_exit_code_2(tmp_path, capsys, content, message):
    photo = tmp_path / "photo.png"
    if content is None:
        Image.new("RGB", (200, 200), (10, 200, 30)).save(photo)
    else:
        photo.write_bytes(content)
    assert main(["invert", "--image", str(photo), "--out", str(tmp_path / "out.png")]) == 2
    assert message in capsys.readouterr().err


def test_an_encoder_trains_saves_and_loads_for_any_checkpoint(tmp_path):
    generator = build_generator(tiny_model()).eval()
    encoder, measured = train_encoder(generator, 16, EncoderTraining(minutes=0.02, pool=64, batch_size=16))
    assert measured["steps"] > 0 and np.isfinite(measured["held_out_w_error"])
    save_encoder(tmp_path, encoder, measured)
    loaded = load_encoder(tmp_path)
    faces = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(faces), encoder(faces), atol=1e-2)  # stored in float16
    assert load_encoder(tmp_path / "missing") is None

    # going on from the saved one, on "photos" (here the generator's own faces): the real-face stage
    photos = to_uint8(generator.synthesis(sample_ws(generator, 12, seed=3)).detach())
    settings = EncoderTraining(minutes=0, pool=64, batch_size=16, photo_minutes=0.02, photo_batch_size=4)
    tuned, measured = train_encoder(generator, 16, settings, start=loaded, photos=photos[:8], held_photos=photos[8:],
                                    vgg=load_vgg16())
    assert tuned is loaded and measured["photo_steps"] > 0 and measured["photos"] == 8
    assert all(10 < measured["held_out_photo_psnr"][k] < 99 for k in ("before", "after"))
    (tmp_path / ENCODER_META).write_text("{broken")
    with pytest.raises(CheckpointError, match="damaged"):
        load_encoder(tmp_path)


def test_the_learned_repair_suggests_telea_where_the_photo_shows_no_face(studio):
    mask = Image.new("L", (320, 240), 0)
    mask.paste(255, (20, 20, 60, 40))
    portrait = photo_with_faces(studio, [(100, 40, 160)], size=(320, 240))
    _, note = studio.repair(portrait, mask, "learned", 0)
    assert "No face found" not in note
    landscape = Image.new("RGB", (320, 240), (90, 120, 150))
    _, note = studio.repair(landscape, mask, "learned", 0)
    assert "No face found" in note and "telea" in note
    _, note = studio.repair(landscape, mask, "telea", 0)
    assert "No face found" not in note
