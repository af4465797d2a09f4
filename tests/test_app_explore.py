"""The real app end to end: gradio_client against the named API and the page's events, Chromium against the page."""
from __future__ import annotations

import base64
import io
import json
import re
import time

import gradio_client  # installed with gradio: missing, the install is broken (no skip)
import numpy as np
import pytest
from PIL import Image

from gan_art.devtools import EXPLORE_SLIDER, draw_image, slider_args
from gan_art.explore import Recipe, png_with_recipe
from tests.app_server import ARTIFACTS, load_into_editor, open_browser, submit_until_accepted
from tests.conftest import REPO

AppError = gradio_client.exceptions.AppError


def png_in(view_html: str) -> bytes:
    """The PNG the Explore view shows and offers for download (a data URL in its HTML)."""
    match = re.search(r'class="ga-download" download="[^"]+" href="data:image/png;base64,([^"]+)"', view_html)
    assert match, view_html[:300]
    return base64.b64decode(match.group(1))


def pixels(png: bytes | str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).convert("RGB"))


def slide(client, **values):
    """What the page sends when a slider moves: the view HTML, the recipe JSON and a message."""
    return client.predict(*slider_args(client, {"Checkpoint": "faces", "Seed": 5, **values}), api_name=EXPLORE_SLIDER)


def test_sliders_move_the_face_and_the_recipe_round_trips(client, tmp_path):
    view, recipe, message = slide(client)
    assert message == "" and '"seed": 5' in recipe and '"upscaler": "upscale-faces"' in recipe
    assert pixels(png_in(view)).shape == (128, 128, 3)  # the shipped face model comes with its upscaler
    small_view, small_recipe, _ = slide(client, **{"Sharp faces (2x upscaler)": False})
    assert pixels(png_in(small_view)).shape == (64, 64, 3) and '"upscaler": ""' in small_recipe
    shrunk = np.asarray(Image.fromarray(pixels(png_in(view))).resize((64, 64), Image.Resampling.LANCZOS), int)
    assert np.abs(shrunk - pixels(png_in(small_view))).mean() < 4  # the same face, only sharper
    moved_view, moved_recipe, _ = slide(client, PC1=3.0)
    assert '"PC1": 3.0' in moved_recipe
    assert np.abs(pixels(png_in(moved_view)).astype(int) - pixels(png_in(view))).mean() > 2

    download = tmp_path / "download.png"
    download.write_bytes(png_in(moved_view))
    restored = client.predict(gradio_client.handle_file(str(download)), api_name="/explore_restore")
    assert restored[0]["value"] == "faces" and restored[1] == 5 and restored[-1].startswith("Restored")
    assert np.array_equal(pixels(png_in(restored[-3])), pixels(png_in(moved_view)))  # bit-identical image
    # the named API reads the same recipe from the PNG and renders the same pixels
    read = client.predict(image=gradio_client.handle_file(str(download)), api_name="/read_recipe")
    assert Recipe.from_json(read) == Recipe.from_json(moved_recipe)
    image, stamped = client.predict(recipe=read, api_name="/render")
    assert np.array_equal(pixels(image), pixels(png_in(moved_view))) and stamped == read


def test_invert_through_the_named_api_gives_a_recipe_that_render_edits(client):
    face, _ = client.predict(seed=11, api_name="/generate")
    image, recipe = client.predict(image=gradio_client.handle_file(face), steps=20, aligned=True, api_name="/invert")
    assert Recipe.from_json(recipe).projected and pixels(image).shape == pixels(face).shape
    error = np.abs(pixels(image).astype(int) - pixels(face)).mean()
    assert error < 20  # the shipped generator's own face comes back closely
    older, _ = client.predict(recipe=json.dumps({**json.loads(recipe), "directions": {"age": 2.0}}),
                              api_name="/render")
    assert np.abs(pixels(older).astype(int) - pixels(image)).mean() > 2
    with pytest.raises(gradio_client.exceptions.AppError, match="face 3"):
        client.predict(image=gradio_client.handle_file(face), face=3, aligned=True, api_name="/invert")


def test_invert_then_render_with_the_photo_edits_the_photo_at_its_size(client, tmp_path):
    from gan_art.studio import Studio  # noqa: PLC0415
    from tests.test_faces import photo_with_faces  # noqa: PLC0415 - the face-photo maker lives with the face tests

    photo = tmp_path / "photo.png"
    photo_with_faces(Studio(outputs_root=tmp_path / "outputs"), [(260, 90, 240)], size=(800, 500)).save(photo)
    _, recipe = client.predict(image=gradio_client.handle_file(str(photo)), steps=10, api_name="/invert")
    same, _ = client.predict(recipe=recipe, photo=gradio_client.handle_file(str(photo)), api_name="/render")
    assert np.array_equal(pixels(same), pixels(str(photo)))  # no edit: the photo itself
    older = json.dumps({**json.loads(recipe), "directions": {"age": 2.0}})
    edited, _ = client.predict(recipe=older, photo=gradio_client.handle_file(str(photo)), api_name="/render")
    difference = np.abs(pixels(edited).astype(int) - pixels(str(photo))).max(2)
    assert pixels(edited).shape == (500, 800, 3) and difference[150:300, 320:440].mean() > 0.5
    assert not difference[:, :200].any() and not difference[:, 560:].any()


def test_upscale_a_face_photo_through_the_api_and_refuse_what_it_cannot_do(client, tmp_path):
    from gan_art.data import load_images  # noqa: PLC0415

    faces, _ = load_images(REPO / "data" / "holdout-faces-128.zip", 96, max_images=1)
    face = tmp_path / "face.jpg"
    Image.fromarray(faces[0].permute(1, 2, 0).numpy()).convert("L").save(face)  # a grey photo
    bigger, note = client.predict(image=gradio_client.handle_file(str(face)), scale=4, api_name="/upscale")
    assert pixels(bigger).shape == (384, 384, 3) and note == ""
    wall = tmp_path / "wall.png"
    Image.new("RGBA", (1500, 1200), (200, 180, 160, 128)).save(wall)
    with pytest.raises(AppError, match="No face found"):
        client.predict(image=gradio_client.handle_file(str(wall)), api_name="/upscale")
    shrunk, note = client.predict(image=gradio_client.handle_file(str(wall)), anyway=True, api_name="/upscale")
    assert pixels(shrunk).shape == (1638, 2048, 3) and "shrunk to 1024x819" in note
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(AppError, match="image"):
        client.predict(image=gradio_client.handle_file(str(text)), anyway=True, api_name="/upscale")
    dot = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(dot)
    with pytest.raises(AppError, match="too small"):
        client.predict(image=gradio_client.handle_file(str(dot)), anyway=True, api_name="/upscale")


def test_generate_by_seed_is_reproducible_and_lists_checkpoints(client):
    assert {"faces", "faces-dcgan"} <= set(client.predict(api_name="/checkpoints"))
    first, recipe = client.predict(seed=42, api_name="/generate")
    again, _ = client.predict(checkpoint="faces", seed=42, truncation_psi=0.7, api_name="/generate")
    assert np.array_equal(pixels(first), pixels(again)) and Recipe.from_json(recipe).seed == 42
    with pytest.raises(AppError, match="no checkpoint named 'cats'"):
        client.predict(checkpoint="cats", api_name="/generate")


def test_bad_recipe_files_give_a_visible_message(client, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    other = tmp_path / "other.png"
    other.write_bytes(png_with_recipe(np.zeros((8, 8, 3), np.uint8), Recipe(checkpoint="cats")))
    cases = ((text, "could not read"), (plain, "no GAN Art Studio recipe"), (other, "not available here"))
    for path, expected in cases:
        result = client.predict(gradio_client.handle_file(str(path)), api_name="/explore_restore")
        assert result[-1].startswith("⚠️") and expected in result[-1]
        with pytest.raises(AppError, match=expected):
            client.predict(image=gradio_client.handle_file(str(path)), api_name="/read_recipe")


@pytest.mark.browser
def test_dragging_a_slider_in_chromium_changes_the_face_and_the_sharp_faces_switch_sizes_it(app):
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app.url)
        page.locator("#explore-view img.ga-big").wait_for(timeout=60_000)
        before, after = drag_slider(page, "PC1")
        assert '"PC1": ' in page.locator(".cm-content").first.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explore.png"), full_page=True)
        natural = "() => document.querySelector('#explore-view img.ga-big').naturalWidth"
        assert page.evaluate(natural) == 128  # the shipped face model's upscaler is on by default
        page.locator("#explore-upscale input[type=checkbox]").uncheck()
        page.wait_for_function(f"() => ({natural})() === 64", timeout=30_000)
        assert "64 px" in page.locator("#explore-view a.ga-download").inner_text()
        page.locator("#explore-upscale input[type=checkbox]").check()
        page.wait_for_function(f"() => ({natural})() === 128", timeout=30_000)
        assert "128 px" in page.locator("#explore-view a.ga-download").inner_text()
    assert changed(before, after), "the face did not change after dragging PC1"


def drag_slider(page, name: str) -> tuple[Image.Image, Image.Image]:
    """Drag Explore's ``name`` slider from its middle to near its right end; the face before and after."""
    image = page.locator("#explore-view img.ga-big")
    source = image.get_attribute("src")
    before = Image.open(io.BytesIO(image.screenshot()))
    slider = page.get_by_label(f"range slider for {name}", exact=True)
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("(src) => document.querySelector('#explore-view img.ga-big')?.src !== src", arg=source,
                           timeout=30_000)
    # the first new picture can be a late update of the face before the drag: look until the edit shows (or 30 s)
    deadline = time.monotonic() + 30
    while True:
        page.wait_for_function("() => document.querySelector('#explore-view img.ga-big').complete", timeout=30_000)
        after = Image.open(io.BytesIO(image.screenshot()))
        if changed(before, after) or time.monotonic() > deadline:
            return before, after
        page.wait_for_timeout(300)


def changed(before: Image.Image, after: Image.Image) -> bool:
    diff = np.abs(np.asarray(before.convert("RGB"), int) - np.asarray(after.convert("RGB").resize(before.size), int))
    return diff.mean() > 2


def test_stylize_through_the_api_and_the_tab(client, tmp_path):
    photo = tmp_path / "photo.png"
    draw_image(1, 80).save(photo)
    fast = client.predict(image=gradio_client.handle_file(str(photo)), size=256, api_name="/stylize")
    assert Image.open(fast).size == (256, 256)
    kept = client.predict(image=gradio_client.handle_file(str(photo)), style="udnie", api_name="/stylize")
    assert Image.open(kept).size == (80, 80)  # the photo's own size by default
    detailed = client.predict(image=gradio_client.handle_file(str(photo)), mode="detailed", size=64, iterations=10,
                              api_name="/stylize")
    assert Image.open(detailed).size == (64, 64)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(AppError, match="not an image"):
        client.predict(image=gradio_client.handle_file(str(bad)), api_name="/stylize")
    # the tab's own handler gives the same message on the page
    broken = {"background": gradio_client.handle_file(str(bad)), "layers": [], "composite": None}
    settings = ["starry-night", None, "none", 0.5, "fast", 1.0, False, 1.0, 256, 300, 1e6, 1.0, 1e-3]
    refused = client.predict(broken, *settings, api_name="/stylize_editor")
    assert refused[1].startswith("⚠️") and "not an image" in refused[1]


def test_sessions_do_not_share_favourites(app):
    first, second = (app.client() for _ in range(2))
    recipe = Recipe(checkpoint="faces", seed=9).to_json()
    for _ in range(2):
        gallery_first = first.predict(recipe, api_name="/explore_favourite")[0]
    gallery_second = second.predict(recipe, api_name="/explore_favourite")[0]
    assert len(gallery_first) == 2 and len(gallery_second) == 1


@pytest.mark.browser
def test_stylize_in_chromium(app, tmp_path):
    photo = tmp_path / "photo.png"
    draw_image(7, 200).save(photo)
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app.url)
        page.get_by_role("tab", name="Style").click()
        load_into_editor(page, "#style-content", photo)
        submit_until_accepted(page, "🎨 Stylize", "#style-result img")
        page.wait_for_function("() => document.body.innerText.includes('Done (fast mode)')", timeout=120_000)
        response = page.request.get(page.locator("#style-result img").get_attribute("src"))
        styled = np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"), int)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "style.png"), full_page=True)
    original = np.asarray(Image.open(photo).convert("RGB"), int)
    assert styled.shape == original.shape  # the photo's own size
    assert np.abs(styled - original).mean() > 10  # restyled, not the photo handed back


def test_variations_and_interpolation_through_the_app(client):
    recipe = Recipe(checkpoint="faces", seed=11).to_json()
    gallery = client.predict(recipe, 1.0, api_name="/explore_variations")
    assert len(gallery) == 16
    gif, mp4, files, message = client.predict("3", "5", 6, 8, True, recipe, api_name="/explore_interpolate")
    assert message == "" and open(gif, "rb").read(6) == b"GIF89a"
    assert open(mp4["video"] if isinstance(mp4, dict) else mp4, "rb").read(12)[4:8] == b"ftyp"
    assert len(files) == 2
    bad = client.predict("not a seed", "5", 6, 8, True, recipe, api_name="/explore_interpolate")
    assert bad[-1].startswith("⚠️") and "type a seed" in bad[-1]


@pytest.mark.browser
def test_your_own_face_in_chromium_reconstructs_and_the_age_slider_edits_it(app, tmp_path):
    from gan_art.studio import Studio  # noqa: PLC0415
    from tests.test_faces import photo_with_faces  # noqa: PLC0415 - the face-photo maker lives with the face tests

    photo = tmp_path / "photo.jpg"
    photo_with_faces(Studio(outputs_root=tmp_path / "outputs"), [(200, 100, 200)]).save(photo)
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(app.url)
        page.locator("#explore-view img.ga-big").wait_for(timeout=60_000)
        page.get_by_text("Start from a photo").click()
        page.get_by_label("number input for Refinement steps").fill("20")
        page.get_by_label("number input for Refinement steps").press("Enter")
        chooser = page.locator("#explore-photo input[type=file]").first
        chooser.set_input_files(str(photo))
        page.locator("#explore-photo img").wait_for(timeout=60_000)
        submit_until_accepted(page, "🔍 Find faces", "#explore-faces img")
        source = page.locator("#explore-view img.ga-big").get_attribute("src")
        page.get_by_role("button", name="✨ Reconstruct").click()
        page.wait_for_function("() => document.body.innerText.includes('Found it.')", timeout=180_000)
        page.wait_for_function("(src) => document.querySelector('#explore-view img.ga-big')?.src !== src",
                               arg=source, timeout=30_000)
        natural = "() => document.querySelector('#explore-view img.ga-big').naturalWidth"
        assert page.evaluate(natural) == 256  # the user's own face from the photo, not the generator's 64 px
        assert page.locator("#explore-view img.ga-generated").count() == 1  # the model's version beside it
        before, after = drag_slider(page, "age")
        assert '"projected": "' in page.locator(".cm-content").first.inner_text()
        page.get_by_role("button", name="🖼 Apply the edit to the whole photo").click()
        page.locator("#explore-pasted img").wait_for(timeout=60_000)
        response = page.request.get(page.locator("#explore-pasted img").get_attribute("src"))
        edited = np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"), int)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explore-photo.png"), full_page=True)
    assert changed(before, after), "the face did not change after dragging age"
    original = np.asarray(Image.open(photo).convert("RGB"), int)
    assert edited.shape == original.shape
    # the face (pasted at x 200-400, y 100-300) changed; the photo away from it is the user's own, pixel for pixel
    assert np.abs(edited[130:280, 230:370] - original[130:280, 230:370]).mean() > 0.5
    assert np.array_equal(edited[:, :150], original[:, :150]) and np.array_equal(edited[:, 450:], original[:, 450:])
