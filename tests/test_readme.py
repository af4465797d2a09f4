"""The README's "Use from Python" example runs, as written, against the real app."""
import re

import numpy as np
from PIL import Image

from gan_art.data import load_images
from gan_art.paths import REPO


def python_example() -> str:
    section = REPO.joinpath("README.md").read_text().split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_use_from_python_example_runs(app, tmp_path, monkeypatch):
    code = python_example()
    assert "http://127.0.0.1:7860/" in code
    monkeypatch.chdir(tmp_path)
    faces, _ = load_images(REPO / "data" / "holdout-faces-128.zip", 96, max_images=1)
    Image.fromarray(faces[0].permute(1, 2, 0).numpy()).save("photo.jpg")
    mask = np.zeros((96, 96), np.uint8)
    mask[30:60, 20:70] = 255
    Image.fromarray(mask).save("mask.png")
    namespace: dict = {}
    exec(compile(code.replace("http://127.0.0.1:7860/", app.url), "README.md", "exec"), namespace)
    assert Image.open(namespace["older_png"]).size == (128, 128)  # the face model's upscaler is on by default
    assert Image.open(namespace["bigger_png"]).size == (384, 384)
    assert Image.open(namespace["fixed_png"]).size == Image.open(namespace["styled_png"]).size == (96, 96)
    assert namespace["status"]["state"] in ("starting", "running", "queued")
