"""Masks (white = the region to change) from files, transparent PNGs and painted editor layers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from gan_art.errors import ImageError
from gan_art.images import open_image


def mask_from_upload(source: bytes | str | Path, size: tuple[int, int]) -> Image.Image:
    """A mask image (white = change) or a transparent PNG (transparent = change), resized to ``size``."""
    img = open_image(source)
    try:
        img.load()
    except Exception as exc:
        raise ImageError(f"the mask is corrupt or truncated ({type(exc).__name__})") from None
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"))[..., 3]
        mask = Image.fromarray(((alpha < 128) * 255).astype(np.uint8), "L")
    else:
        mask = img.convert("L").point(lambda v: 255 if v >= 128 else 0)
    return resize_mask(mask, size)


def resize_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A binary L mask of ``size``; nearest-neighbour keeps it binary."""
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.NEAREST)
    return mask.convert("L").point(lambda v: 255 if v >= 128 else 0)


def mask_from_layers(layers: list[Image.Image], size: tuple[int, int]) -> Image.Image | None:
    """Union of the painted (non-transparent) pixels of editor layers; None when nothing is painted."""
    painted = np.zeros((size[1], size[0]), dtype=bool)
    for layer in layers:
        alpha = np.asarray(layer.convert("RGBA").resize(size, Image.Resampling.NEAREST))[..., 3]
        painted |= alpha > 0
    return Image.fromarray(painted.astype(np.uint8) * 255, "L") if painted.any() else None


def open_layer(path: str | Path) -> Image.Image:
    """A painted editor layer (a transparent PNG the image editor wrote) as RGBA, alpha kept."""
    image = open_image(path)
    image.load()
    return image.convert("RGBA")


def feather(mask: Image.Image, radius: float) -> Image.Image:
    """Soft edges: a blurred copy of a binary mask (0 radius returns it unchanged)."""
    return mask.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else mask
