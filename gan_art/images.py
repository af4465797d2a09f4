"""Images in and out: safe decoding of untrusted files, and conversions between PIL, numpy and tensors.

Everything a user uploads passes through :func:`decode_image`: sizes are checked from the header
before any pixel is decoded, EXIF orientation is applied, and every mode (RGBA, palette, grayscale,
16-bit, CMYK) becomes 8-bit RGB. Tensors of images are (B, 3, H, W): uint8 in 0..255, or float in
[-1, 1] (GAN and inpainting convention) or [0, 1] (style convention), as each function says.
"""
from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from gan_art.errors import ImageError

MAX_PIXELS = 50_000_000  # ~8k x 6k; larger headers are refused before decoding (decompression bombs)
MAX_SIDE = 20_000  # refuse absurd aspect ratios such as 1 x 1,000,000 too
MAX_FILE_BYTES = 64 * 2**20  # per image file or zip entry


def _to_rgb(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit/32-bit grayscale: rescale the real range to 8 bits rather than clipping at 255
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background + (255,))
        img = Image.alpha_composite(canvas, rgba)
    return img.convert("RGB")


def check_image_size(width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    """Raise :class:`ImageError` for sizes that are empty, absurd or too large to decode safely."""
    if width < 1 or height < 1:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels or max(width, height) > MAX_SIDE:
        raise ImageError(f"image is {width}x{height}, too large: the limit is {max_pixels / 1e6:.0f} "
                         f"megapixels and {MAX_SIDE} px per side. Downscale it first.")


def open_image(source: bytes | str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an untrusted image, validating its header size; returns a lazily decoded PIL image."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path} is not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"{path.name} is larger than {MAX_FILE_BYTES >> 20} MB")
        source = path.read_bytes()
    if len(source) == 0:
        raise ImageError("the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(source))
            check_image_size(*img.size, max_pixels=max_pixels)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image is too large to decode safely (the limit is {max_pixels / 1e6:.0f} megapixels); "
                         "downscale it first") from None
    except UnidentifiedImageError:
        raise ImageError("not an image file this app can read (PNG, JPEG, WebP, GIF, BMP or TIFF)") from None
    except Exception as exc:  # PIL raises many types for garbage input
        raise ImageError(f"not a readable image ({type(exc).__name__}: {exc})") from None
    return img


def decode_image(source: bytes | str | Path, max_pixels: int = MAX_PIXELS,
                 background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Decode an untrusted image to upright 8-bit RGB (first frame of animations; alpha over ``background``)."""
    img = open_image(source, max_pixels)
    try:
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        return _to_rgb(img, background)
    except Exception as exc:
        raise ImageError(f"image data is corrupt or truncated ({type(exc).__name__}: {exc})") from None


def fit_square(img: Image.Image, resolution: int) -> np.ndarray:
    """Center-crop to a square and resize to ``resolution``; returns (3, R, R) uint8."""
    img = ImageOps.fit(img, (resolution, resolution), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) in 0..255 -> float in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (B, 3, H, W) in [-1, 1] -> uint8, clamped."""
    return ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


def pil_to_tensor(image: Image.Image, device: str | torch.device = "cpu") -> torch.Tensor:
    """RGB PIL image -> float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].to(device)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """Float (1, 3, H, W) in [0, 1] -> RGB PIL image."""
    return Image.fromarray((x[0].detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8))


def image_grid(images: torch.Tensor, columns: int) -> Image.Image:
    """uint8 (N, 3, H, W) -> one PIL image with ``columns`` images per row."""
    N, C, H, W = images.shape
    rows = math.ceil(N / columns)
    canvas = torch.zeros(rows * columns, C, H, W, dtype=torch.uint8)
    canvas[:N] = images
    canvas = canvas.reshape(rows, columns, C, H, W).permute(0, 3, 1, 4, 2).reshape(rows * H, columns * W, C)
    return Image.fromarray(canvas.numpy())


def save_png(image: Image.Image, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    image.save(tmp, format="PNG")
    tmp.replace(path)


def upscale(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 resized to (size, size) with Lanczos (for display)."""
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def resize_batch(images: torch.Tensor, size: int,
                 resample: Image.Resampling = Image.Resampling.LANCZOS) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> (N, 3, size, size), each image resized with PIL (antialiased when shrinking)."""
    return torch.stack([torch.from_numpy(np.array(Image.fromarray(image.permute(1, 2, 0).numpy()).resize(
        (size, size), resample))).permute(2, 0, 1) for image in images])
