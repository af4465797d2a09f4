"""Shared fixtures: tiny models and tiny procedurally drawn datasets, CPU only."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from gan_art.config import ModelConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

torch.set_num_threads(min(2, torch.get_num_threads()))


def draw_image(seed: int, size: int = 24) -> Image.Image:
    """A small random picture: background colour plus an ellipse, like a very abstract face."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    x0, y0 = rng.integers(0, size // 2, 2)
    draw.ellipse([int(x0), int(y0), int(x0) + size // 2, int(y0) + size // 2],
                 fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return img


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app (python app.py) on a free port, one per test module, with its own runs/outputs."""
    from tests.app_server import AppServer

    server = AppServer(tmp_path_factory.mktemp("app"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(app):
    gradio_client = pytest.importorskip("gradio_client")
    return gradio_client.Client(app.url, verbose=False)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(24):
        draw_image(i).save(folder / f"img{i:02d}.png")
    return folder


def tiny_model(arch: str = "stylegan") -> ModelConfig:
    if arch == "dcgan":
        return ModelConfig(arch="dcgan", resolution=16, z_dim=8, w_dim=8, width=4)
    return ModelConfig(arch="stylegan", resolution=16, z_dim=8, w_dim=8, mapping_layers=2, width=4, max_channels=8)


def tiny_train_config(data: Path, out: Path, arch: str = "stylegan", **overrides) -> TrainConfig:
    values = dict(data=str(data), out=str(out), model=tiny_model(arch), steps=6, batch_size=4,
                  sample_every=3, sample_grid=2, checkpoint_every=3, metrics_every=2, r1_interval=2,
                  precision="fp32", threads=1)
    values.update(overrides)
    return TrainConfig(**values)
