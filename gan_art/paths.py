"""Where things live: the repository's folders and the per-user cache. Computed here and nowhere else."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "checkpoints"
# names of the shipped checkpoints inside a checkpoints folder (the app's --checkpoints-dir, default CHECKPOINTS)
FACES, INPAINTER, SEGMENTER = "faces", "inpaint-faces", "damage-detector"
ATTRIBUTES, VGG16, STYLE_MAGENTA, MTCNN = "attributes", "vgg16-relu4_1", "style-magenta", "mtcnn"
UPSCALER = "upscale-faces"
RUNS = REPO / "runs"
OUTPUTS = REPO / "outputs"
BUILTIN_FACES = REPO / "data" / "faces-mini.zip"
SHARED_DATA = REPO.parent / "shared" / "data"  # the team's datasets beside the repo (development only)


def dataset_path(recorded: str) -> Path:
    """Where a config's data path points: as given (absolute, or from the current folder), else from the app's
    folder, which is how runs on the built-in faces record them (the same on every machine)."""
    given = Path(recorded)
    return given if given.is_absolute() or given.exists() else REPO / given


def cache_dir() -> Path:
    """Per-user cache (precision probes, the registry of training processes); ``GAN_ART_CACHE`` moves it."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gan_art"
    path = Path(os.environ.get("GAN_ART_CACHE") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path
