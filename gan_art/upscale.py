"""Serving the face upscaler: load a checkpoint's two weight sets, blend them at a detail level, enlarge images.

``detail`` 0 is the fidelity (L1) network, closest to the photo pixel by pixel; 1 is the detailed
(adversarial) network, with plausible skin, hair and eye detail. Values between interpolate the
weights (ESRGAN's network interpolation), so every level costs one network pass.
"""
from __future__ import annotations

import functools
import hashlib
import threading
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from gan_art.checkpoints import KINDS, load_network
from gan_art.errors import ConfigError, ImageError
from gan_art.images import to_float, to_uint8
from gan_art.models.upscaler import Upscaler, UpscalerPair, blend_weights

DEFAULT_DETAIL = 0.8  # validation faces: 0.4-1 all beat Lanczos on PSNR, VGG and SWD; 0.8 keeps a margin of PSNR
# (+0.72 dB) with most of the texture (benchmarks/upscale_quality.py --split validation, results/upscale_quality.jsonl)
TILE = 256  # input pixels per tile side on large images: bounds memory, same result (overlapping tiles)
TILE_OVERLAP = 16  # input pixels each tile reads beyond its own part (the network sees 15 px around a pixel)
MAX_OUTPUT_SIDE = 2048  # photos are shrunk first (with a note) so that the result's long side stays within this


def load_upscaler_pair(path: str | Path) -> UpscalerPair:
    """Both weight sets of an ``upscaler`` checkpoint folder, fp32, eval mode, frozen."""
    return load_network(path, "upscaler", UpscalerPair)


class FaceUpscaler:
    """An upscaler checkpoint ready to enlarge images at any detail level (the blend is cached per level)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        pair = load_upscaler_pair(path)
        self.id = hashlib.sha256((self.path / KINDS["upscaler"].files[0]).read_bytes()).hexdigest()[:12]
        self._lock = threading.Lock()  # the blended weights are shared by every caller
        self.scale = pair.fidelity.scale
        # copies: the network below is loaded with blends of these, and must not write into them
        self._fidelity = {k: v.clone() for k, v in pair.fidelity.state_dict().items()}
        self._detailed = {k: v.clone() for k, v in pair.detailed.state_dict().items()}
        self._net: Upscaler = pair.fidelity.to(memory_format=torch.channels_last)
        self._detail: float | None = 0.0

    def _network(self, detail: float) -> Upscaler:
        """The network at ``detail`` in [0, 1] (0 = fidelity, 1 = detailed)."""
        if not 0.0 <= detail <= 1.0:
            raise ConfigError(f"detail must be between 0 and 1, got {detail}")
        detail = round(float(detail), 3)
        if detail != self._detail:
            self._net.load_state_dict(blend_weights(self._fidelity, self._detailed, detail))
            self._detail = detail
        return self._net

    def __call__(self, images: torch.Tensor, detail: float = DEFAULT_DETAIL) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, 3, sH, sW) in [-1, 1], enlarged once."""
        with self._lock, torch.no_grad():
            return self._enlarge(self._network(detail), images)

    def _enlarge(self, net: Upscaler, images: torch.Tensor) -> torch.Tensor:
        B, C, H, W = images.shape
        if max(H, W) <= TILE + 2 * TILE_OVERLAP:
            return net(images.contiguous(memory_format=torch.channels_last)).clamp(-1, 1)
        s = self.scale
        out = images.new_empty(B, C, H * s, W * s)
        for y in range(0, H, TILE):
            for x in range(0, W, TILE):
                y0, x0 = max(y - TILE_OVERLAP, 0), max(x - TILE_OVERLAP, 0)
                y1, x1 = min(y + TILE + TILE_OVERLAP, H), min(x + TILE + TILE_OVERLAP, W)
                tile = net(images[..., y0:y1, x0:x1].contiguous(memory_format=torch.channels_last))
                h, w = min(TILE, H - y), min(TILE, W - x)
                out[..., y * s:(y + h) * s, x * s:(x + w) * s] = tile[..., (y - y0) * s:(y - y0 + h) * s,
                                                                        (x - x0) * s:(x - x0 + w) * s]
        return out.clamp(-1, 1)

    def enlarge(self, image: Image.Image, passes: int = 1, detail: float = DEFAULT_DETAIL) -> Image.Image:
        """An image enlarged ``scale ** passes`` times, as RGB."""
        return Image.fromarray(self.enlarge_array(np.asarray(image.convert("RGB")), detail, passes))

    def enlarge_array(self, image: np.ndarray, detail: float = DEFAULT_DETAIL, passes: int = 1) -> np.ndarray:
        """(H, W, 3) uint8 -> (sH, sW, 3) uint8 (``scale ** passes`` times larger)."""
        x = to_float(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None])  # a copy: PIL arrays are read-only
        for _ in range(passes):
            x = self(x, detail)
        return to_uint8(x)[0].permute(1, 2, 0).numpy()

    def enlarge_to(self, image: np.ndarray, size: tuple[int, int], detail: float = DEFAULT_DETAIL) -> np.ndarray:
        """(h, w, 3) uint8 -> (H, W, 3) at ``size`` (W, H): network passes until it is at least that large, then
        an area resize down to it."""
        while image.shape[1] < size[0] or image.shape[0] < size[1]:
            image = self.enlarge_array(image, detail)
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=2)
def load_upscaler(path: Path) -> FaceUpscaler:
    """The upscaler of a checkpoint folder (loaded once per folder)."""
    return FaceUpscaler(path)


def upscale_photo(photo: Image.Image, upscaler: FaceUpscaler, scale: int = 2, detail: float = DEFAULT_DETAIL,
                  max_side: int = MAX_OUTPUT_SIDE) -> tuple[Image.Image, str]:
    """A photo enlarged ``scale`` (2, or 4 by two passes) times, and a note when it was shrunk first so that
    the result fits in ``max_side`` pixels."""
    if scale not in (2, 4):
        raise ConfigError(f"scale must be 2 or 4, got {scale}")
    if min(photo.size) < 2:
        raise ImageError(f"this image is {photo.width}x{photo.height} px: too small to enlarge (at least 2x2 px)")
    note = ""
    if max(photo.size) * scale > max_side:
        factor = max_side / (max(photo.size) * scale)
        size = (max(1, round(photo.width * factor)), max(1, round(photo.height * factor)))
        note = (f"The photo ({photo.width}x{photo.height}) was shrunk to {size[0]}x{size[1]} first, so that the "
                f"{scale}x result stays within {max_side} px.")
        photo = photo.resize(size, Image.Resampling.LANCZOS)
    return upscaler.enlarge(photo, 1 if scale == 2 else 2, detail), note
