import io

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from gan_art.errors import RecipeError
from gan_art.explore import (
    RECIPE_KEY,
    Direction,
    Recipe,
    interpolate,
    interpolation_weights,
    layer_range,
    parse_seeds,
    png_with_recipe,
    recipe_from_png,
    recipe_ws,
    render,
    seed_ws,
    variation_recipes,
)
from gan_art.models import build_generator
from tests.conftest import tiny_model


@pytest.fixture
def generator():
    torch.manual_seed(0)
    G = build_generator(tiny_model()).eval()
    G.mapping.w_avg.normal_()
    return G


@pytest.fixture
def directions():
    torch.manual_seed(1)
    return {"PC1": Direction("PC1", "pca", torch.randn(8)), "age": Direction("age", "labelled", torch.randn(8))}


def test_recipe_png_round_trip_restores_a_bit_identical_image(generator, directions):
    recipe = Recipe(checkpoint="tiny", seed=11, truncation_psi=0.6, directions={"PC1": 1.5, "age": -2.0},
                    layers="coarse", latent={0: 0.5, 3: -1.0}, mix_seed=4, mix_layers="fine")
    image = render(generator, directions, recipe)
    restored = recipe_from_png(png_with_recipe(image, recipe))
    assert restored == recipe
    assert np.array_equal(render(generator, directions, restored), image)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_with_recipe(image, recipe)))), image)


def test_truncation_zero_is_the_mean_face_for_every_seed(generator, directions):
    a = render(generator, directions, Recipe(seed=1, truncation_psi=0.0))
    b = render(generator, directions, Recipe(seed=2, truncation_psi=0.0))
    mean = generator.synthesis(generator.w_avg.expand(1, generator.num_ws, -1))
    assert np.array_equal(a, b)
    assert np.array_equal(a, ((mean.clamp(-1, 1) + 1) * 127.5).round().byte()[0].permute(1, 2, 0).numpy())


def test_every_control_changes_the_image(generator, directions):
    base = Recipe(seed=3, truncation_psi=1.0)
    reference = render(generator, directions, base)
    changes = ({"seed": 4}, {"directions": {"PC1": 2.0}}, {"latent": {1: 2.0}},
               {"mix_seed": 9, "mix_layers": "middle"}, {"truncation_psi": 0.5})
    for change in changes:
        assert not np.array_equal(render(generator, directions, Recipe(**{**base.__dict__, **change})), reference)


def test_direction_edits_only_the_chosen_layers(generator, directions):
    ws = recipe_ws(generator, directions, Recipe(seed=3, directions={"PC1": 1.0}, layers="coarse"))
    plain = seed_ws(generator, 3, 0.7)
    start, end = layer_range(generator.num_ws, "coarse")
    assert torch.allclose(ws[:, start:end] - plain[:, start:end], directions["PC1"].vector.expand(1, end - start, -1))
    assert torch.equal(ws[:, end:], plain[:, end:])


def test_unknown_direction_and_bad_latent_index_are_clear_errors(generator, directions):
    with pytest.raises(RecipeError, match="does not exist"):
        recipe_ws(generator, directions, Recipe(directions={"smile": 1.0}))
    with pytest.raises(RecipeError, match="outside"):
        recipe_ws(generator, directions, Recipe(latent={99: 1.0}))


def test_layer_groups():
    assert layer_range(10, "all") == (0, 10)
    assert layer_range(10, "coarse") == (0, 4) and layer_range(10, "middle") == (4, 8)
    assert layer_range(10, "fine") == (8, 10) and layer_range(6, "fine") == (6, 6)
    with pytest.raises(RecipeError):
        layer_range(10, "everything")


def test_pngs_without_a_recipe_are_refused_with_a_message():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    with pytest.raises(RecipeError, match="no GAN Art Studio recipe"):
        recipe_from_png(buffer.getvalue())
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "JPEG")
    with pytest.raises(RecipeError, match="JPEG"):
        recipe_from_png(buffer.getvalue())
    with pytest.raises(RecipeError, match="could not read"):
        recipe_from_png(b"not an image at all")
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, '{"seed": "x"')
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", pnginfo=info)
    with pytest.raises(RecipeError, match="damaged"):
        recipe_from_png(buffer.getvalue())


def test_interpolation_frames(generator):
    a, b = seed_ws(generator, 1), seed_ws(generator, 2)
    frames = interpolate(generator, a, b, num_frames=5, loop=False)
    assert len(frames) == 5 and frames[0].shape == (16, 16, 3)
    assert np.array_equal(frames[0], render(generator, {}, Recipe(seed=1, truncation_psi=1.0)))
    assert np.array_equal(frames[-1], render(generator, {}, Recipe(seed=2, truncation_psi=1.0)))
    assert len(interpolate(generator, a, b, num_frames=5, loop=True)) == 8
    assert interpolation_weights(3, loop=False) == pytest.approx([0.0, 0.5, 1.0])


def test_variations_are_reproducible_and_centred():
    base = Recipe(seed=5, directions={"PC1": 1.0})
    first = variation_recipes(base, ["PC1", "PC2"], count=16, strength=0.5)
    assert first == variation_recipes(base, ["PC1", "PC2"], count=16, strength=0.5)
    assert len({r.to_json() for r in first}) == 16
    mean = np.mean([r.directions["PC1"] for r in first])
    assert abs(mean - 1.0) < 0.5


def test_parse_seeds():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert parse_seeds(" 5 ") == [5]
    for bad in ("", "a", "-3", "1-b", str(2**32)):
        with pytest.raises(ValueError):
            parse_seeds(bad)
