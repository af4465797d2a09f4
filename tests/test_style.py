
import numpy as np
import pytest
from PIL import Image

from gan_art import style as style_module
from gan_art.devtools import draw_image
from gan_art.errors import StyleError
from gan_art.style import builtin_styles, detailed_steps, fit_long_side, preserve_colors, style_patch, stylize_fast


@pytest.fixture(scope="module")
def content():
    return draw_image(3, 96)


@pytest.fixture(scope="module")
def painting():
    return Image.open(builtin_styles()["starry-night"]).convert("RGB")


def test_the_three_paintings_ship_with_the_app():
    assert set(builtin_styles()) == {"great-wave", "starry-night", "udnie"}


def test_output_size_and_range(content, painting):
    result = stylize_fast(content, [(painting, 1.0)], size=160)
    assert result.size == (160, 160) and result.mode == "RGB"
    wide = stylize_fast(content.resize((200, 50)), [(painting, 1.0)], size=1024)
    assert wide.size == (1024, 256)
    assert not np.array_equal(np.asarray(result), np.asarray(fit_long_side(content, 160)))


def test_strength_zero_returns_nearly_the_content_and_strength_orders_the_change(content, painting):
    original = np.asarray(fit_long_side(content, 128), dtype=float)
    diffs = [np.abs(np.asarray(stylize_fast(content, [(painting, 1.0)], strength=s, size=128), float) - original).mean()
             for s in (0.0, 0.5, 1.0)]
    assert diffs[0] < diffs[1] < diffs[2]
    assert diffs[0] < 0.5 * diffs[2]


def test_keep_colors_keeps_the_content_chroma(content, painting):
    result = stylize_fast(content, [(painting, 1.0)], keep_colors=True, size=96)
    _, cb, cr = (np.asarray(c, float) for c in result.convert("YCbCr").split())
    _, cb0, cr0 = (np.asarray(c, float) for c in content.convert("YCbCr").split())
    plain = stylize_fast(content, [(painting, 1.0)], size=96)
    _, cb1, _ = (np.asarray(c, float) for c in plain.convert("YCbCr").split())
    assert np.abs(cb - cb0).mean() < 2 and np.abs(cr - cr0).mean() < 2
    assert np.abs(cb1 - cb0).mean() > 5  # without the option the painting's colours come in
    same = np.asarray(preserve_colors(content, content), float)
    assert np.abs(same - np.asarray(content, float)).max() <= 3  # YCbCr round trip only


def test_mask_limits_the_change_to_the_painted_region(content, painting):
    mask = Image.new("L", (96, 96), 0)
    mask.paste(255, (0, 0, 48, 96))
    result = np.asarray(stylize_fast(content, [(painting, 1.0)], mask=mask, size=96), float)
    original = np.asarray(content, float)
    assert np.abs(result[:, 60:] - original[:, 60:]).mean() < 1.0
    assert np.abs(result[:, :40] - original[:, :40]).mean() > 10


def test_any_mode_and_size_of_style_image_works(content):
    for style in (Image.new("L", (7, 300), 128), Image.new("RGBA", (900, 40), (10, 200, 30, 128)),
                  Image.new("P", (64, 64))):
        assert stylize_fast(content, [(style.convert("RGB"), 1.0)], size=64).size == (64, 64)
    assert style_patch(Image.new("RGB", (10, 10)), 0.5).size == (256, 256)


def test_mixing_two_styles_differs_from_each(content, painting):
    wave = Image.open(builtin_styles()["great-wave"]).convert("RGB")
    a = np.asarray(stylize_fast(content, [(painting, 1.0)], size=64), float)
    b = np.asarray(stylize_fast(content, [(wave, 1.0)], size=64), float)
    mixed = np.asarray(stylize_fast(content, [(painting, 0.5), (wave, 0.5)], size=64), float)
    assert np.abs(mixed - a).mean() > 1 and np.abs(mixed - b).mean() > 1


def test_bad_settings_are_clear_errors(content, painting):
    with pytest.raises(StyleError, match="strength"):
        stylize_fast(content, [(painting, 1.0)], strength=1.5)
    with pytest.raises(StyleError, match="style image"):
        stylize_fast(content, [])
    with pytest.raises(StyleError, match="output size"):
        stylize_fast(content, [(painting, 1.0)], size=100_000)


def test_detailed_mode_streams_and_stops_promptly(content, painting, monkeypatch):
    calls = []
    real_vgg = style_module.load_vgg16()

    def counting_vgg(*args, **kwargs):  # every optimisation step runs VGG16 once on the image
        calls.append(1)
        return real_vgg(*args, **kwargs)

    monkeypatch.setattr(style_module, "load_vgg16", lambda *args, **kwargs: counting_vgg)
    steps = detailed_steps(content, painting, size=48, iterations=1000, progress_every=2)
    first_step, first_image = next(steps)
    assert first_step == 2 and first_image.size == (48, 48)
    done = len(calls)  # the two targets (content, style) and two steps
    steps.close()  # what the app's Stop does: no further step runs, and the stream is over
    assert len(calls) == done == 4
    with pytest.raises(StopIteration):
        next(steps)
    final = list(detailed_steps(content, painting, size=48, iterations=6, progress_every=3))
    assert [s for s, _ in final] == [3, 6]
    assert not np.array_equal(np.asarray(final[-1][1]), np.asarray(fit_long_side(content, 48)))
