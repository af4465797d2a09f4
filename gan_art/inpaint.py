"""Repair: fill masked regions of a photo of any size (learned network or OpenCV), find damage automatically.

Pixels outside the mask are never changed (bit-identical). The learned network runs on tiles that
cover the holes, at full resolution when the holes are thin enough for its training (scratches,
spots); a photo with a hole wider than that is processed at a reduced scale first (coarse) and the
result says so. ``detect_damage`` proposes a mask with a small segmentation network.
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
from gan_art.images import to_float, to_uint8
from gan_art.models.inpaint import InpaintGenerator
from gan_art.models.segmenter import DamageSegmenter
from gan_art.paths import CHECKPOINTS, INPAINTER, SEGMENTER

METHODS = {
    "learned": "our network trained on faces: best for portraits and large holes",
    "telea": "OpenCV Telea (fast marching): good on thin scratches and small spots, smears large holes",
    "ns": "OpenCV Navier-Stokes: like Telea, follows edges a little more, also smears large holes",
}
TRAINED_RADIUS = 40  # widest half-width of hole (px) the network saw in training (128 px faces, <= 50% holes)
MAX_TILE = 448



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


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    H, W = x.shape[-2:]
    ph, pw = (-H) % multiple, (-W) % multiple
    mode = "reflect" if ph < H and pw < W else "replicate"
    return torch.nn.functional.pad(x, [0, pw, 0, ph], mode=mode), (H, W)


@torch.no_grad()
def _run_network(model, images: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Network output (B, H, W, 3) uint8 for a batch of same-sized crops (B, H, W, 3) and holes (B, H, W)."""
    x = to_float(torch.from_numpy(images).permute(0, 3, 1, 2))
    x, (H, W) = _pad_to(x, model.multiple)
    m, _ = _pad_to(torch.from_numpy(holes.astype(np.float32))[:, None], model.multiple)
    out = model(x, m)[:, :, :H, :W]
    return to_uint8(out).permute(0, 2, 3, 1).numpy()


def _learned_fill(image: np.ndarray, hole: np.ndarray, model, batch_size: int = 16) -> np.ndarray:
    """Network prediction for every hole pixel, tile by tile around the holes (tiles of one size batched)."""
    radius = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3).max())
    core = int(min(MAX_TILE, max(64, 4 * radius)))
    margin = int(max(32, 2 * radius))
    out = image.copy()
    H, W = hole.shape
    tiles_by_size: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for y in range(0, H, core):
        for x in range(0, W, core):
            if hole[y:y + core, x:x + core].any():
                y0, x0 = max(0, y - margin), max(0, x - margin)
                y1, x1 = min(H, y + core + margin), min(W, x + core + margin)
                tiles_by_size.setdefault((y1 - y0, x1 - x0), []).append((y, x, y0, x0))
    for (h, w), tiles in tiles_by_size.items():
        for start in range(0, len(tiles), batch_size):
            batch = tiles[start:start + batch_size]
            filled = _run_network(model, np.stack([image[y0:y0 + h, x0:x0 + w] for _, _, y0, x0 in batch]),
                                  np.stack([hole[y0:y0 + h, x0:x0 + w] for _, _, y0, x0 in batch]))
            for (y, x, y0, x0), tile in zip(batch, filled):
                cy, cx = slice(y - y0, y - y0 + min(core, H - y)), slice(x - x0, x - x0 + min(core, W - x))
                region = hole[y:y + core, x:x + core]
                out[y:y + core, x:x + core][region] = tile[cy, cx][region]
    return out


def learned_fill(image: np.ndarray, hole: np.ndarray, model=None) -> tuple[np.ndarray, str]:
    """Fill holes with the network; holes wider than it was trained for are filled at a reduced scale."""
    model = model or load_inpainter()
    radius = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3).max())
    if radius <= TRAINED_RADIUS:
        return _learned_fill(image, hole, model), ""
    scale = TRAINED_RADIUS / radius
    H, W = hole.shape
    small = (max(8, round(W * scale)), max(8, round(H * scale)))
    small_image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8), small, interpolation=cv2.INTER_NEAREST).astype(bool)
    filled = cv2.resize(_learned_fill(small_image, small_hole, model), (W, H), interpolation=cv2.INTER_CUBIC)
    note = (f"the largest hole is about {2 * radius:.0f} px wide, wider than the network was trained for, so it was "
            f"filled at {100 * scale:.0f}% scale and enlarged (softer inside the hole)")
    return filled, note


def classical_fill(image: np.ndarray, hole: np.ndarray, method: str, radius: int = 5) -> np.ndarray:
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    return cv2.inpaint(image, hole.astype(np.uint8) * 255, radius, flag)


def blend_inside(original: np.ndarray, filled: np.ndarray, hole: np.ndarray, feather: float) -> np.ndarray:
    """``filled`` inside the hole, fading to ``original`` over ``feather`` px at its edge; outside untouched."""
    if feather <= 0:
        weight = hole.astype(np.float32)
    else:
        distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
        weight = np.minimum(distance / feather, 1.0) * hole
    out = original.astype(np.float32) * (1 - weight[..., None]) + filled.astype(np.float32) * weight[..., None]
    out = out.round().clip(0, 255).astype(np.uint8)
    out[~hole] = original[~hole]  # exact, whatever the float arithmetic did
    return out


def repair(image: Image.Image, mask: Image.Image, method: str = "learned", feather: float = 0.0,
           model=None) -> RepairResult:
    """Repair the white region of ``mask`` in ``image`` (RGB); output has the input's size."""
    if method not in METHODS:
        raise RepairError(f"method must be one of {', '.join(METHODS)}")
    original = np.asarray(image.convert("RGB"))
    hole = prepare_mask(mask, image.size)
    if not hole.any():
        return RepairResult(Image.fromarray(original.copy()), "the mask is empty: nothing to repair")
    if hole.all():
        raise RepairError("the whole photo is marked; leave the undamaged part unmarked so there is "
                          "something to repair from")
    note = ""
    if method == "learned":
        filled, note = learned_fill(original, hole, model)
    else:
        filled = classical_fill(original, hole, method)
    return RepairResult(Image.fromarray(blend_inside(original, filled, hole, feather)), note)


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
        x, (h, w) = _pad_to(to_float(torch.from_numpy(np.array(work)).permute(2, 0, 1)[None]), model.multiple)
        level = torch.sigmoid(model(x))[0, 0, :h, :w].numpy()
        if level.shape != (H, W):
            level = cv2.resize(level, (W, H), interpolation=cv2.INTER_LINEAR)
        probability = np.maximum(probability, level)
        if min(size) <= 1.5 * trained_side:
            break
        scale /= 2
    return Image.fromarray(((probability > threshold) * 255).astype(np.uint8), "L")
