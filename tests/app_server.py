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
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        if threads is not None:
            env.setdefault("OMP_NUM_THREADS", str(threads))
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(self.port), "--runs-dir", str(tmp / "runs"),
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
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


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
