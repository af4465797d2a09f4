"""The Train tab end to end: gradio_client starts, watches and stops a run; Chromium clicks Start."""
from __future__ import annotations

import re
import time

import pytest

from tests.app_server import ARTIFACTS, open_browser

gradio_client = pytest.importorskip("gradio_client")

BUILTIN = "Built-in faces (2,000 UTKFace photos)"


def start_args(steps=3000, name=""):
    # source, files, folder, arch, resolution, batch, steps, minutes, lr_g, lr_d, augment, ema, seed, device, name
    return [BUILTIN, None, "", "stylegan", 16, 8, steps, 0, 0, 0, True, True, 0, "cpu", name]


def step_in(status_html: str) -> int:
    match = re.search(r"step ([\d,]+)/", status_html)
    return int(match.group(1).replace(",", "")) if match else -1


def test_start_watch_stop_and_explore_the_result(app):
    client = gradio_client.Client(app.url, verbose=False)
    message, run = client.predict(*start_args(name="ui-run"), api_name="/start")
    assert "ui-run" in message and run["value"] == "ui-run"
    steps, grids = [], set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (len(grids) < 2 or len(set(steps)) < 3):
        status, grid, *_ = client.predict("ui-run", True, api_name="/poll")
        steps.append(step_in(status))
        if isinstance(grid, str):  # skipped (unchanged) outputs come back as update dicts
            grids.add(open(grid, "rb").read())
        time.sleep(0.5)
    assert len(grids) >= 2, "fewer than two different sample grids streamed"
    rising = [s for s in steps if s >= 0]
    assert rising == sorted(rising) and rising[-1] > rising[0]
    assert "sent" in client.predict("ui-run", api_name="/stop")
    deadline = time.monotonic() + 60
    while "stopped" not in (status := client.predict("ui-run", True, api_name="/poll")[0]):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    # the stopped run's checkpoint is listed in Explore and generates
    result = client.predict("runs/ui-run", 0, 0.7, api_name="/load_checkpoint")
    assert '"checkpoint": "runs/ui-run"' in result[-2] and not result[-1].startswith("⚠️")


def test_bad_dataset_choices_give_messages(app):
    client = gradio_client.Client(app.url, verbose=False)
    args = start_args()
    args[0], args[2] = "Folder on this server", "/definitely/not/here"
    message = client.predict(*args, api_name="/start")[0]
    assert message.startswith("⚠️") and "does not exist" in message
    args[0] = "Upload images or a zip"
    assert "upload some images" in client.predict(*args, api_name="/start")[0]


@pytest.mark.browser
def test_click_start_see_the_grid_change_and_stop_in_chromium(app):
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app.url)
        page.get_by_role("tab", name="Train").click()
        page.get_by_label("Steps").fill("5000")
        page.get_by_role("button", name="▶ Start training").click()
        grid = page.locator("#train-grid img")
        grid.wait_for(timeout=60_000)
        first = grid.get_attribute("src")
        page.wait_for_function("(src) => document.querySelector('#train-grid img')?.src !== src", arg=first,
                               timeout=90_000)
        page.get_by_role("button", name="⏹ Stop").click()
        page.wait_for_function("() => document.querySelector('#run-status')?.innerText.includes('stopped')",
                               timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)
