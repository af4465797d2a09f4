import numpy as np
import pytest
import torch

from gan_art.checkpoints import write_checkpoint
from gan_art.config import to_dict
from gan_art.errors import CheckpointError, DirectionError, RecipeError
from gan_art.explore import Recipe, png_with_recipe
from gan_art.models import build_generator
from gan_art.studio import Studio
from tests.conftest import tiny_model


@pytest.fixture
def studio(tmp_path):
    torch.manual_seed(0)
    cfg = tiny_model()
    write_checkpoint(tmp_path / "checkpoints" / "tiny", {"model": to_dict(cfg)}, build_generator(cfg).eval())
    return Studio(tmp_path / "checkpoints", tmp_path / "runs", tmp_path / "outputs", default_checkpoint="tiny")


def test_lists_and_loads_checkpoints_with_cached_directions(studio, tmp_path):
    assert studio.list_checkpoints() == ["tiny"]
    loaded = studio.model("tiny")
    assert loaded.names("pca") == [f"PC{i}" for i in range(1, 9)]  # w_dim 8 limits the components
    assert (tmp_path / "checkpoints" / "tiny" / "directions.safetensors").is_file()
    assert studio.model("tiny") is loaded


@pytest.mark.parametrize("name", ["../checkpoints/tiny", "/etc", "runs/../../x", "tiny/..", "missing"])
def test_names_outside_the_list_are_refused(studio, name):
    with pytest.raises(CheckpointError, match="no checkpoint named"):
        studio.model(name)


def test_render_stamps_the_checkpoint_id_and_pngs_restore(studio):
    image, recipe = studio.render(Recipe(checkpoint="tiny", seed=3, directions={"PC1": 1.0}))
    assert image.shape == (16, 16, 3) and recipe.checkpoint_id == studio.model("tiny").checkpoint.id
    restored = studio.read_recipe(studio.save_recipe_png(image, recipe).read_bytes())
    assert np.array_equal(studio.render(restored)[0], image)


def test_recipes_for_missing_or_changed_checkpoints_are_refused(studio):
    image, recipe = studio.render(Recipe(checkpoint="tiny"))
    with pytest.raises(RecipeError, match="not available here"):
        studio.read_recipe(png_with_recipe(image, Recipe(checkpoint="elsewhere")))
    with pytest.raises(RecipeError, match="has changed"):
        studio.read_recipe(png_with_recipe(image, Recipe(checkpoint="tiny", checkpoint_id="0123456789ab")))


def test_interpolation_writes_gif_and_mp4(studio):
    gif, mp4 = studio.interpolation(Recipe(checkpoint="tiny", seed=1), Recipe(checkpoint="tiny", seed=2),
                                    num_frames=6, loop=True, fps=8, upscale=64)
    assert gif.read_bytes()[:6] == b"GIF89a" and gif.parent == studio.outputs_root
    assert mp4.stat().st_size > 1000 and mp4.read_bytes()[4:8] == b"ftyp"


def test_variations(studio):
    results = studio.variations(Recipe(checkpoint="tiny", seed=1), strength=1.0)
    assert len(results) == 16
    assert len({image.tobytes() for image, _ in results}) == 16


def test_save_direction_appears_as_a_custom_direction(studio):
    recipe = Recipe(checkpoint="tiny", seed=1, directions={"PC1": 2.0, "PC3": -1.0})
    direction = studio.save_direction("my edit", recipe)
    assert direction.kind == "custom" and "my edit" in studio.model("tiny").directions
    loaded = studio.model("tiny")
    expected = 2.0 * loaded.directions["PC1"].vector - loaded.directions["PC3"].vector
    assert torch.allclose(direction.vector, expected)
    with pytest.raises(DirectionError):
        studio.save_direction("PC1", recipe)
    with pytest.raises(DirectionError):
        studio.save_direction("../../evil", recipe)
