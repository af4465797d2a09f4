"""Browser helpers for end-to-end tests (the app itself starts with :class:`gan_art.devtools.AppServer`)."""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from gan_art.paths import REPO

ARTIFACTS = REPO / "test-artifacts"


@contextlib.contextmanager
def open_browser():
    """Headless Debian Chromium driven by Playwright; skips the test when either is missing."""
    import pytest
    from playwright import sync_api  # a test requirement: missing, the install is broken

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("GAN_ART_REQUIRE_BROWSER"):  # CI: every browser test must run
            pytest.fail("Debian chromium is not installed (apt-get install -y chromium)")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def load_into_editor(page, editor_selector: str, photo: Path, timeout_s: float = 300.0) -> None:
    """Choose ``photo`` in an image editor until it shows it (its "Upload an image" placeholder is gone): an
    editor still starting up on a busy machine misses a file chosen too early, so the first choice waits for its
    placeholder to show (each miss costs a 15-second wait)."""
    chooser = page.locator(editor_selector).locator("input[type=file]").first
    page.locator(editor_selector).get_by_text("Upload an image").first.wait_for(timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        chooser.set_input_files([])  # choosing the same file again fires no change event without this
        chooser.set_input_files(str(photo))
        try:
            page.wait_for_function("(sel) => { const e = document.querySelector(sel); return e && e.querySelector("
                                   "'canvas') && !e.innerText.includes('Upload an image'); }", arg=editor_selector,
                                   timeout=15_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: choose the file again
            continue
    raise AssertionError(f"{editor_selector} never showed {photo.name}")


def submit_until_accepted(page, button: str, done_selector: str, timeout_s: float = 300.0,
                          patience_ms: int = 15_000, before_click=None) -> None:
    """Click ``button`` until ``done_selector`` appears. An editor still loading its image sends no photo
    (the tab answers "upload a photo first"), so a click without a result is repeated, with
    ``before_click()`` (e.g. painting the mask again) before each, until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if before_click is not None:
            before_click()
        page.get_by_role("button", name=button).click()
        try:
            page.locator(done_selector).wait_for(timeout=patience_ms)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: not ready yet, click again
            continue
    raise AssertionError(f"{button!r} gave no {done_selector} within {timeout_s:.0f} s")
