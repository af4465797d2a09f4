"""Start the real app (``python app.py``) on a free port for end-to-end tests."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO

ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python app.py`` in a subprocess; ``url`` once it answers HTTP.

    ``threads`` caps torch's threads in the app and the training workers it starts (tests share 2 cores with
    it); None launches it as a user would, with torch's default.
    """

    def __init__(self, tmp: Path, *extra: str, threads: int | None = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tmp / "app.log"
        self.runs_root = tmp / "runs"
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        if threads is not None:
            env.setdefault("OMP_NUM_THREADS", str(threads))
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(self.port), "--runs-dir", str(self.runs_root),
             "--outputs-dir", str(tmp / "outputs"), *extra],
            cwd=REPO, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited early:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"app did not start in 120 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Terminate the app as a user's SIGTERM would (it stops its training workers first)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def open_browser():
    """Headless Debian Chromium driven by Playwright; skips the test when either is missing."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
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
    editor still starting up on a busy machine misses a file chosen too early."""
    chooser = page.locator(editor_selector).locator("input[type=file]").first
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
