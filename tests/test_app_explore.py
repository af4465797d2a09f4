"""The real app end to end: gradio_client against the API, headless Chromium against the page."""
from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.app_server import ARTIFACTS, load_into_editor, open_browser, submit_until_accepted

gradio_client = pytest.importorskip("gradio_client")

NUM_SLIDERS = 2 + 12 + 6 + 8  # labelled, principal, custom, raw z (see gan_art/ui/explore.py)
PC1 = 7 + 2  # index of the PC1 slider in /render's inputs


def render_args(seed=5, pc1=0.0):
    args = ["faces", seed, 0.7, "all", False, 1, "fine"] + [0.0] * NUM_SLIDERS
    args[PC1] = pc1
    return args


def png_in(view_html: str) -> bytes:
    """The PNG the Explore view shows and offers for download (a data URL in its HTML)."""
    match = re.search(r'class="ga-download" download="[^"]+" href="data:image/png;base64,([^"]+)"', view_html)
    assert match, view_html[:300]
    return base64.b64decode(match.group(1))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_generate_move_a_direction_and_round_trip_the_recipe(client, tmp_path):
    view, recipe, message = client.predict(*render_args(), api_name="/render")
    assert message == "" and '"seed": 5' in recipe
    assert pixels(png_in(view)).shape == (64, 64, 3)
    moved_view, moved_recipe, _ = client.predict(*render_args(pc1=3.0), api_name="/render")
    assert '"PC1": 3.0' in moved_recipe
    assert np.abs(pixels(png_in(moved_view)).astype(int) - pixels(png_in(view))).mean() > 2

    download = tmp_path / "download.png"
    download.write_bytes(png_in(moved_view))
    restored = client.predict(gradio_client.handle_file(str(download)), api_name="/restore")
    assert restored[0]["value"] == "faces" and restored[1] == 5 and restored[-1].startswith("Restored")
    assert np.array_equal(pixels(png_in(restored[-3])), pixels(png_in(moved_view)))  # bit-identical image


def test_bad_recipe_files_give_a_visible_message(client, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    for path, expected in ((text, "could not read"), (plain, "no GAN Art Studio recipe")):
        result = client.predict(gradio_client.handle_file(str(path)), api_name="/restore")
        assert result[-1].startswith("⚠️") and expected in result[-1]


def test_recipe_for_a_missing_checkpoint_gives_a_visible_message(client, tmp_path):
    from gan_art.explore import Recipe, png_with_recipe

    path = tmp_path / "other.png"
    path.write_bytes(png_with_recipe(np.zeros((8, 8, 3), np.uint8), Recipe(checkpoint="cats")))
    result = client.predict(gradio_client.handle_file(str(path)), api_name="/restore")
    assert "not available here" in result[-1]


@pytest.mark.browser
def test_dragging_a_slider_in_chromium_changes_the_face(app):
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app.url)
        image = page.locator("#explore-view img.ga-big")
        image.wait_for(timeout=60_000)
        source = image.get_attribute("src")
        before = Image.open(io.BytesIO(image.screenshot()))
        box = page.get_by_label("range slider for PC1", exact=True).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_function("(src) => document.querySelector('#explore-view img.ga-big')?.src !== src", arg=source,
                               timeout=30_000)
        page.wait_for_function("() => document.querySelector('#explore-view img.ga-big').complete", timeout=30_000)
        after = Image.open(io.BytesIO(image.screenshot()))
        assert '"PC1": ' in page.locator(".cm-content").first.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explore.png"), full_page=True)
    diff = np.abs(np.asarray(before.convert("RGB"), int) - np.asarray(after.convert("RGB").resize(before.size), int))
    assert diff.mean() > 2, "the face did not change after dragging PC1"


def test_stylize_through_the_app_in_both_modes(client, tmp_path):
    from tests.conftest import draw_image

    photo = tmp_path / "photo.png"
    draw_image(1, 80).save(photo)
    editor = {"background": gradio_client.handle_file(str(photo)), "layers": [], "composite": None}
    settings = ["starry-night", None, "none", 0.5]
    fast = client.predict(editor, *settings, "fast", 1.0, False, 1.0, 256, 300, 1e6, 1.0, 1e-3, api_name="/stylize")
    assert Image.open(fast[0]).size == (256, 256) and fast[1].startswith("Done")
    detailed = client.predict(editor, *settings, "detailed", 1.0, False, 1.0, 128, 10, 1e6, 1.0, 1e-3,
                              api_name="/stylize")
    assert Image.open(detailed[0]).size == (128, 128) and detailed[1].startswith("Iteration 10/10")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    broken = {"background": gradio_client.handle_file(str(bad)), "layers": [], "composite": None}
    refused = client.predict(broken, *settings, "fast", 1.0, False, 1.0, 256, 300, 1e6, 1.0, 1e-3, api_name="/stylize")
    assert refused[1].startswith("⚠️") and "not an image" in refused[1]


def test_sessions_do_not_share_favourites(app):
    first, second = (gradio_client.Client(app.url, verbose=False) for _ in range(2))
    recipe = first.predict(*render_args(seed=9), api_name="/render")[1]
    for _ in range(2):
        gallery_first = first.predict(recipe, api_name="/favourite")[0]
    gallery_second = second.predict(recipe, api_name="/favourite")[0]
    assert len(gallery_first) == 2 and len(gallery_second) == 1


@pytest.mark.browser
def test_stylize_in_chromium(app, tmp_path):
    from tests.conftest import draw_image

    photo = tmp_path / "photo.png"
    draw_image(7, 200).save(photo)
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app.url)
        page.get_by_role("tab", name="Style").click()
        load_into_editor(page, "#style-content", photo)
        submit_until_accepted(page, "🎨 Stylize", "#style-result img")
        page.wait_for_function("() => document.body.innerText.includes('Done (fast mode)')", timeout=120_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "style.png"), full_page=True)


def test_variations_and_interpolation_through_the_app(client):
    recipe = client.predict(*render_args(seed=11), api_name="/render")[1]
    gallery = client.predict(recipe, 1.0, api_name="/variations")
    assert len(gallery) == 16
    gif, mp4, files, message = client.predict("3", "5", 6, 8, True, recipe, api_name="/interpolate")
    assert message == "" and open(gif, "rb").read(6) == b"GIF89a"
    assert open(mp4["video"] if isinstance(mp4, dict) else mp4, "rb").read(12)[4:8] == b"ftyp"
    assert len(files) == 2
    bad = client.predict("not a seed", "5", 6, 8, True, recipe, api_name="/interpolate")
    assert bad[-1].startswith("⚠️") and "type a seed" in bad[-1]
