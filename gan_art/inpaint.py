"""Repair: fill masked regions of a photo of any size (learned network or OpenCV), find damage automatically.

Pixels outside the mask are never changed (bit-identical), and the pixels under the mask are never read:
they are blanked before any method sees the photo, so the result is the same whatever the damage was.
The learned fill (:mod:`gan_art.fill`) works on each group of holes at the scale the network was
trained for. ``detect_damage`` proposes a mask with a small segmentation network.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from gan_art.checkpoints import load_network
from gan_art.errors import RepairError
from gan_art.fill import feather_edges, learned_fill, pad_to
from gan_art.images import to_float
from gan_art.models.inpaint import InpaintGenerator
from gan_art.models.segmenter import DamageSegmenter
from gan_art.paths import CHECKPOINTS, INPAINTER, SEGMENTER

METHODS = {
    "learned": "our network trained on faces: best for portraits and large holes",
    "telea": "OpenCV Telea (fast marching): good on thin scratches and small spots, smears large holes",
    "ns": "OpenCV Navier-Stokes: like Telea, follows edges a little more, also smears large holes",
}



@dataclass
class RepairResult:
    image: Image.Image
    note: str = ""  # e.g. that a large hole was filled at a reduced scale


def prepare_mask(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A boolean (H, W) hole mask for an image of ``size``; a mask of another shape is resized when it has the
    same aspect ratio and refused otherwise."""
    if mask.size != size:
        if abs(mask.width / mask.height - size[0] / size[1]) > 0.01:
            raise RepairError(f"the mask is {mask.width}x{mask.height} but the photo is {size[0]}x{size[1]}; "
                              "use a mask with the photo's shape")
        mask = mask.resize(size, Image.Resampling.NEAREST)
    return np.asarray(mask.convert("L")) >= 128


@functools.lru_cache(maxsize=2)
def load_inpainter(path: Path = CHECKPOINTS / INPAINTER) -> torch.nn.Module:
    """The inpainting network of an inpainter checkpoint folder (loaded once per folder)."""
    return load_network(path, "inpainter", InpaintGenerator)


@functools.lru_cache(maxsize=2)
def load_segmenter(path: Path = CHECKPOINTS / SEGMENTER) -> torch.nn.Module:
    """The damage detector of a segmenter checkpoint folder (loaded once per folder)."""
    return load_network(path, "segmenter", DamageSegmenter)


def classical_fill(image: np.ndarray, hole: np.ndarray, method: str, radius: int = 5) -> np.ndarray:
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    return cv2.inpaint(image, hole.astype(np.uint8) * 255, radius, flag)


def repair(image: Image.Image, mask: Image.Image, method: str = "learned", feather: float = 0.0,
           model=None, enlarge=None) -> RepairResult:
    """Repair the white region of ``mask`` in ``image`` (RGB); output has the input's size. ``enlarge``: how the
    learned method brings a fill made at a reduced scale back to the photo's (see :func:`learned_fill`)."""
    if method not in METHODS:
        raise RepairError(f"method must be one of {', '.join(METHODS)}")
    original = np.asarray(image.convert("RGB"))
    hole = prepare_mask(mask, image.size)
    if not hole.any():
        return RepairResult(Image.fromarray(original.copy()), "the mask is empty: nothing to repair")
    if hole.all():
        raise RepairError("the whole photo is marked; leave the undamaged part unmarked so there is "
                          "something to repair from")
    blanked = original.copy()
    blanked[hole] = 0  # no method may read what it is repairing
    note = ""
    if method == "learned":
        filled, note = learned_fill(model or load_inpainter(), blanked, hole, enlarge)
    else:
        filled = classical_fill(blanked, hole, method)
    filled[~hole] = original[~hole]
    return RepairResult(Image.fromarray(feather_edges(filled, hole, feather)), note)


def damaged_share(mask: Image.Image) -> float:
    """The share of the photo a damage mask (L, white = damaged) covers."""
    return float((np.asarray(mask) >= 128).mean())


@torch.no_grad()
def detect_damage(image: Image.Image, model=None, threshold: float = 0.5, max_side: int = 1024,
                  trained_side: int = 128) -> Image.Image:
    """A proposed damage mask (L, white = damaged) of the photo's size.

    The network saw 128 px faces, so it runs on a pyramid from full resolution (thin scratches,
    dust) down to about that size (large blocks and stains); a pixel is damaged if any level says so.
    """
    model = model or load_segmenter()
    arr = np.asarray(image.convert("RGB"))
    H, W = arr.shape[:2]
    scale = min(1.0, max_side / max(H, W))
    probability = np.zeros((H, W), np.float32)
    while True:
        size = (max(8, round(W * scale)), max(8, round(H * scale)))
        work = arr if size == (W, H) else cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
        x = pad_to(to_float(torch.from_numpy(np.array(work)).permute(2, 0, 1)[None]), model.multiple)
        level = torch.sigmoid(model(x))[0, 0, :size[1], :size[0]].numpy()
        if level.shape != (H, W):
            level = cv2.resize(level, (W, H), interpolation=cv2.INTER_LINEAR)
        probability = np.maximum(probability, level)
        if min(size) <= 1.5 * trained_side:
            break
        scale /= 2
    return Image.fromarray(((probability > threshold) * 255).astype(np.uint8), "L")
