"""The Repair tab end to end: gradio_client and headless Chromium against the real app."""
from __future__ import annotations

import gradio_client  # installed with gradio: missing, the install is broken (no skip)
import numpy as np
import pytest
from PIL import Image

from gan_art.devtools import draw_image
from tests.app_server import ARTIFACTS, load_into_editor, open_browser, submit_until_accepted


def editor(path, layers=()):
    return {"background": gradio_client.handle_file(str(path)),
            "layers": [gradio_client.handle_file(str(p)) for p in layers], "composite": None}


def test_paint_and_repair_changes_only_the_painted_region(client, tmp_path):
    photo = tmp_path / "photo.png"
    draw_image(4, 96).save(photo)
    layer = np.zeros((96, 96, 4), np.uint8)
    layer[30:50, 20:70] = (255, 0, 85, 140)  # what the brush leaves on the editor layer
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    compare, result, message = client.predict(editor(photo, [tmp_path / "layer.png"]), None, "telea", 0,
                                              api_name="/repair_editor")
    assert message.startswith("Repaired with **telea**")
    before, after = np.asarray(Image.open(photo).convert("RGB")), np.asarray(Image.open(result).convert("RGB"))
    painted = layer[..., 3] > 0
    assert np.array_equal(before[~painted], after[~painted])
    assert len(compare) == 2


def photo_and_masks(folder):
    """A 64 px photo, a mask with a 20 px square hole, and a mask of the whole photo (paths)."""
    photo, mask, full = folder / "photo.png", folder / "mask.png", folder / "full.png"
    draw_image(5, 64).save(photo)
    square = Image.new("L", (64, 64), 0)
    square.paste(255, (10, 10, 30, 30))
    square.save(mask)
    Image.new("L", (64, 64), 255).save(full)
    return photo, mask, full


def test_uploaded_mask_and_clear_messages(client, tmp_path):
    photo, mask, full = photo_and_masks(tmp_path)
    result = client.predict(editor(photo), gradio_client.handle_file(str(mask)), "ns", 2, api_name="/repair_editor")
    assert result[-1].startswith("Repaired")
    nothing = client.predict(editor(photo), None, "telea", 0, api_name="/repair_editor")
    assert nothing[-1].startswith("⚠️") and "mark the damage" in nothing[-1]
    whole = client.predict(editor(photo), gradio_client.handle_file(str(full)), "telea", 0, api_name="/repair_editor")
    assert "whole photo" in whole[-1]


def test_repair_and_find_damage_through_the_named_api(client, tmp_path):
    photo, mask, full = photo_and_masks(tmp_path)
    image, note = client.predict(image=gradio_client.handle_file(str(photo)), mask=gradio_client.handle_file(str(mask)),
                                 method="telea", api_name="/repair")
    before, after = np.asarray(Image.open(photo).convert("RGB")), np.asarray(Image.open(image).convert("RGB"))
    hole = np.asarray(Image.open(mask)) > 0
    assert np.array_equal(before[~hole], after[~hole]) and note == ""
    found, coverage = client.predict(image=gradio_client.handle_file(str(photo)), api_name="/find_damage")
    found_mask = np.asarray(Image.open(found).convert("L")) >= 128
    assert found_mask.shape == (64, 64) and abs(coverage - found_mask.mean()) < 1e-4  # the share it reports
    with pytest.raises(gradio_client.exceptions.AppError, match="whole photo"):
        client.predict(image=gradio_client.handle_file(str(photo)), mask=gradio_client.handle_file(str(full)),
                       api_name="/repair")


@pytest.mark.browser
def test_upload_paint_and_repair_in_chromium(app, tmp_path):
    photo = tmp_path / "photo.png"
    draw_image(6, 256).save(photo)
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app.url)
        page.get_by_role("tab", name="Repair").click()
        load_into_editor(page, "#repair-editor", photo)
        page.get_by_label("telea").check()
        canvas = page.locator("#repair-editor canvas").first

        def paint_a_stroke():  # a stroke painted while the editor still loads its image is lost: paint each time
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
            page.mouse.down()
            # two moves: each one redraws the editor's canvas, 0.8 s in Chromium's software rendering here
            page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=2)
            page.mouse.up()

        submit_until_accepted(page, "🩹 Repair", "#repair-result img", before_click=paint_a_stroke)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "repair.png"), full_page=True)
        assert "Repaired with" in page.locator("body").inner_text()
