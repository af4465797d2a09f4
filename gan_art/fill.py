"""The learned fill at any photo size: holes grouped into regions, each filled at the scale the network was
trained for, on one crop with its context (tiled with blended overlaps only when a crop is too large).

The network never sees what lies under a hole: callers blank the hole pixels first, and at a reduced
scale a pixel's colour is the mean of its known part only (so no damaged colour leaks in by resampling).
Only hole pixels of the output are written.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from gan_art.images import to_float, to_uint8

# The network learned faces on 128 px crops and fills best where a photo's faces are that size again: holes are
# filled on the photo shrunk to a TRAINED_SIDE short side, except thin holes, which are filled at the scale where
# they are THIN_RADIUS px half-wide (full resolution when thinner), so scratches on large photos keep their
# detail. Chosen on validation faces with the training masks (benchmarks/inpaint_quality.py --split validation):
# THIN_RADIUS 0, 2, 4 and 8 within 0.06 dB of each other in every band at 256 and 512 px, and 0.7 to 1.9 dB
# better than the earlier 28 (a wide hole shrunk only until it was 28 px half-wide: the face was still too large).
THIN_RADIUS = 8
TRAINED_SIDE = 128  # the training crops' side (a 128 px photo is filled as it is)
MIN_CONTEXT = 128  # a crop is at least this wide at the working scale (the network's training input)
MAX_CROP = 512  # larger crops (at the working scale) are tiled
TILE, OVERLAP = 384, 96  # tiles of large crops, and how much neighbours share (blended linearly)
# The fill meets the photo through a band this wide (px at the working scale) filled again by Telea from both
# sides (validation: 2 px beat 0 and 4 at 128 px; 1.5 and 3 px both beat 0 at 256 px, by 0.1 to 0.3 dB).
EDGE_BAND = 2.0


@dataclass
class Region:
    """Holes filled together: the bounding box (y0, y1, x0, x1) and the widest half-width of its holes."""

    y0: int
    y1: int
    x0: int
    x1: int
    radius: float

    def merge(self, other: Region) -> Region:
        return Region(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1),
                      max(self.radius, other.radius))


def hole_radius(hole: np.ndarray) -> float:
    """Largest distance from a hole pixel to the nearest known pixel (half the width of the widest hole)."""
    return float(cv2.distanceTransform(np.pad(hole, 1).astype(np.uint8), cv2.DIST_L2, 3).max())


def context(region: Region, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region's box grown by its context margin (at least MIN_CONTEXT wide at its working scale)."""
    scale = working_scale(region.radius, shape)
    margin = max(2.5 * region.radius, 24 / scale)
    y0, y1, x0, x1 = region.y0 - margin, region.y1 + margin, region.x0 - margin, region.x1 + margin
    grow_y = max(0.0, MIN_CONTEXT / scale - (y1 - y0)) / 2
    grow_x = max(0.0, MIN_CONTEXT / scale - (x1 - x0)) / 2
    H, W = shape
    return (max(0, int(y0 - grow_y)), min(H, int(np.ceil(y1 + grow_y))),
            max(0, int(x0 - grow_x)), min(W, int(np.ceil(x1 + grow_x))))


def working_scale(radius: float, shape: tuple[int, int]) -> float:
    """Scale at which the photo (H, W) has a TRAINED_SIDE short side, or a hole of this half-width is
    THIN_RADIUS wide, whichever is larger (never enlarged)."""
    return min(1.0, max(THIN_RADIUS / max(radius, 1e-6), TRAINED_SIDE / min(shape)))


def hole_regions(hole: np.ndarray) -> list[Region]:
    """Connected holes, merged while their context boxes overlap (so a hole is always filled in one piece)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    regions = []
    for index in range(1, count):
        x, y, w, h = stats[index, :4]
        regions.append(Region(y, y + h, x, x + w, hole_radius(labels[y:y + h, x:x + w] == index)))
    merged = True
    while merged:
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = context(regions[i], hole.shape), context(regions[j], hole.shape)
                if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                    regions[i] = regions[i].merge(regions.pop(j))
                    merged = True
                    break
            if merged:
                break
    return regions


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of (B, C, H, W) to multiples of ``multiple`` (reflecting where the size allows)."""
    H, W = x.shape[-2:]
    ph, pw = (-H) % multiple, (-W) % multiple
    return torch.nn.functional.pad(x, [0, pw, 0, ph], mode="reflect" if ph < H and pw < W else "replicate")


@torch.no_grad()
def run_network(model, images: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """The network's fill (B, H, W, 3) uint8 for same-sized crops (B, H, W, 3) uint8 and holes (B, H, W) bool."""
    H, W = holes.shape[1:]
    x = pad_to(to_float(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)), model.multiple)
    m = pad_to(torch.from_numpy(holes.astype(np.float32))[:, None], model.multiple)
    # the mean of the fills of the crop and of its mirror image: closer to the truth than either (validation
    # faces: 0.2 to 1.3 dB at 128 and 256 px), as the network's guesses differ on each side
    filled = (model(x, m) + model(x.flip(-1), m.flip(-1)).flip(-1)) / 2
    return to_uint8(filled[:, :, :H, :W]).permute(0, 2, 3, 1).numpy()


def _ramp(length: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Weights along one side of a tile: rising over OVERLAP px at a side shared with a neighbour."""
    ramp = np.ones(length, np.float32)
    rise = (np.arange(OVERLAP, dtype=np.float32) + 0.5) / OVERLAP
    if not at_start:
        ramp[:OVERLAP] = np.minimum(ramp[:OVERLAP], rise)
    if not at_end:
        ramp[-OVERLAP:] = np.minimum(ramp[-OVERLAP:], rise[::-1])
    return ramp


def _starts(length: int) -> list[int]:
    if length <= TILE:
        return [0]
    count = int(np.ceil((length - OVERLAP) / (TILE - OVERLAP)))
    return [round(i * (length - TILE) / (count - 1)) for i in range(count)]  # equal tiles, overlaps >= OVERLAP


def fill_crop(model, image: np.ndarray, hole: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """The network's fill of one crop: in one pass, or in overlapping tiles blended linearly (no seams)."""
    H, W = hole.shape
    if max(H, W) <= MAX_CROP:
        return run_network(model, image[None], hole[None])[0]
    h, w = min(H, TILE), min(W, TILE)
    tiles = [(y, x) for y in _starts(H) for x in _starts(W) if hole[y:y + h, x:x + w].any()]
    total = np.zeros((H, W, 3), np.float32)
    weight = np.zeros((H, W, 1), np.float32)
    for start in range(0, len(tiles), batch_size):
        batch = tiles[start:start + batch_size]
        filled = run_network(model, np.stack([image[y:y + h, x:x + w] for y, x in batch]),
                             np.stack([hole[y:y + h, x:x + w] for y, x in batch]))
        for (y, x), tile in zip(batch, filled):
            ramp = np.outer(_ramp(h, y == 0, y + h == H), _ramp(w, x == 0, x + w == W))[..., None]
            total[y:y + h, x:x + w] += tile * ramp
            weight[y:y + h, x:x + w] += ramp
    return (total / np.maximum(weight, 1e-6)).round().clip(0, 255).astype(np.uint8)


def feather_edges(filled: np.ndarray, hole: np.ndarray, feather: float) -> np.ndarray:
    """Softens the fill's edge: the band of the hole within ``feather`` px of known pixels is filled again
    (OpenCV Telea) from both sides, the photo outside and the fill inside, so the two meet without a step.
    The damaged pixels are never read (``filled`` no longer holds them); outside the hole is untouched."""
    if feather <= 0:
        return filled
    distance = cv2.distanceTransform(np.pad(hole, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    band = hole & (distance <= min(feather, distance.max() / 2))  # never the whole depth of the widest hole
    # Telea's time grows with the square of its radius: 23 px took 8 s on a 4000x3000 photo's wide band, 5 px 0.5 s
    radius = min(5, max(3, round(feather / 2)))
    out = cv2.inpaint(filled, band.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    out[~hole] = filled[~hole]
    return out


def learned_fill(model, image: np.ndarray, hole: np.ndarray, enlarge=None) -> tuple[np.ndarray, str]:
    """``image`` (H, W, 3) uint8 with every hole pixel filled by the network; a note when holes were filled at
    a reduced scale. Pixels under the hole must already be blanked (the fill never reads them). ``enlarge``
    ((h, w, 3) uint8, (W, H) -> (H, W, 3) uint8) brings a reduced-scale fill back; default bicubic."""
    out = image.copy()
    reduced = []
    for region in hole_regions(hole):
        y0, y1, x0, x1 = context(region, hole.shape)
        crop, crop_hole = image[y0:y1, x0:x1], hole[y0:y1, x0:x1]
        scale = working_scale(region.radius, hole.shape)
        if scale < 1:
            size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
            # a pixel at this scale is known when at least half of it is, and holds the mean of its known part
            # (the blanked hole pixels are zero, so dividing by the known fraction leaves them out); 0.1 dB
            # better on validation faces at 256 px than counting every pixel a hole touches as hole
            known = cv2.resize((~crop_hole).astype(np.float32), size, interpolation=cv2.INTER_AREA)
            small = cv2.resize(crop.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            small = (small / np.maximum(known, 1e-6)[..., None]).round().clip(0, 255).astype(np.uint8)
            small_hole = known < 0.5
            small[small_hole] = 0
            small_filled, size = fill_crop(model, small, small_hole), (x1 - x0, y1 - y0)
            filled = (enlarge(small_filled, size) if enlarge is not None
                      else cv2.resize(small_filled, size, interpolation=cv2.INTER_CUBIC))
            reduced.append(scale)
        else:
            filled = fill_crop(model, crop, crop_hole)
        region_out = out[y0:y1, x0:x1]
        region_out[crop_hole] = filled[crop_hole]
        region_out[:] = feather_edges(region_out, crop_hole, EDGE_BAND / scale)
    note = ""
    if reduced:
        note = (f"the holes were filled at {100 * min(reduced):.0f}% scale, where faces are the size the network was "
                f"trained on, and enlarged (softer inside the holes than the photo around them)")
    return out, note
