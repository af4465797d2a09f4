"""Image folders and zip archives -> uint8 tensors, with safe decoding of untrusted files.

Everything a user uploads passes through :func:`decode_image`: sizes are checked from the header
before any pixel is decoded, EXIF orientation is applied, and every mode (RGBA, palette, grayscale,
16-bit, CMYK) becomes 8-bit RGB. Zip entries are read in memory and never extracted, so a hostile
name like ``../../etc/passwd`` can neither be written nor read outside the archive.
"""
from __future__ import annotations

import io
import os
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_PIXELS = 50_000_000  # ~8k x 6k; larger headers are refused before decoding (decompression bombs)
MAX_SIDE = 20_000  # refuse absurd aspect ratios such as 1 x 1,000,000 too
MAX_FILE_BYTES = 64 * 2**20  # per image file or zip entry
MAX_ARCHIVE_BYTES = 4 * 2**30  # total uncompressed bytes read from one zip
MAX_ZIP_RATIO = 200  # uncompressed/compressed; image formats are already compressed


class ImageError(ValueError):
    """An image file cannot be used; the message says why and what to do."""


class DatasetError(ValueError):
    """A dataset path has no usable images or cannot be read."""


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


@dataclass
class DataSummary:
    """What a dataset path yielded: usable images and skipped files by reason."""

    source: str
    num_images: int = 0
    names: list[str] = field(default_factory=list)  # file names of the usable images, in tensor order
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    skipped_examples: list[str] = field(default_factory=list)  # "name: reason", first few

    def skip(self, name: str, reason: str) -> None:
        self.skipped[reason.split(" (")[0]] += 1
        if len(self.skipped_examples) < 10:
            self.skipped_examples.append(f"{name}: {reason}")

    def to_dict(self) -> dict:
        return {"source": self.source, "num_images": self.num_images,
                "num_skipped": sum(self.skipped.values()), "skipped": dict(self.skipped),
                "skipped_examples": self.skipped_examples}


def _unsafe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def iter_image_files(path: str | Path, summary: DataSummary) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for each image-like file of a folder or zip, recording skips in ``summary``."""
    path = Path(path)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            name = str(file.relative_to(path))
            if file.suffix.lower() not in IMAGE_EXTENSIONS:
                summary.skip(name, "not an image file name")
            elif file.stat().st_size > MAX_FILE_BYTES:
                summary.skip(name, f"larger than {MAX_FILE_BYTES >> 20} MB")
            else:
                yield name, file.read_bytes()
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _iter_zip(path, summary)
    elif path.is_file():
        raise DatasetError(f"{path} is neither a folder nor a zip archive of images")
    else:
        raise DatasetError(f"dataset path {path} does not exist")


def _iter_zip(path: Path, summary: DataSummary) -> Iterator[tuple[str, bytes]]:
    total = 0
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{path.name} is not a readable zip archive ({exc})") from None
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if _unsafe_member(name):
                summary.skip(name, "unsafe path in archive (absolute or '..')")
            elif not name.lower().endswith(IMAGE_EXTENSIONS) or os.path.basename(name).startswith("."):
                summary.skip(name, "not an image file name")
            elif info.file_size > MAX_FILE_BYTES or info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                summary.skip(name, "suspicious size (zip bomb?)")
            elif total + info.file_size > MAX_ARCHIVE_BYTES:
                raise DatasetError(f"{path.name} expands to more than {MAX_ARCHIVE_BYTES >> 30} GB")
            else:
                try:
                    with archive.open(info) as member:
                        data = member.read(MAX_FILE_BYTES + 1)  # never trust the declared size
                except Exception as exc:
                    summary.skip(name, f"unreadable archive entry ({type(exc).__name__})")
                    continue
                if len(data) > MAX_FILE_BYTES:
                    summary.skip(name, "suspicious size (zip bomb?)")
                    continue
                total += len(data)
                yield name, data


def load_images(path: str | Path, resolution: int, max_images: int = 0,
                on_progress: Callable[[int], None] | None = None) -> tuple[torch.Tensor, DataSummary]:
    """Decode a folder or zip into a (N, 3, R, R) uint8 tensor; corrupt files are skipped and counted."""
    summary = DataSummary(source=str(path))
    arrays = []
    for name, data in iter_image_files(path, summary):
        try:
            arrays.append(fit_square(decode_image(data), resolution))
        except ImageError as exc:
            summary.skip(name, str(exc))
            continue
        summary.names.append(name)
        if on_progress is not None and len(arrays) % 1000 == 0:
            on_progress(len(arrays))
        if max_images and len(arrays) >= max_images:
            break
    summary.num_images = len(arrays)
    if not arrays:
        reasons = ", ".join(f"{n} {r}" for r, n in summary.skipped.items()) or "no files at all"
        raise DatasetError(f"no usable images in {path} ({reasons})")
    return torch.from_numpy(np.stack(arrays)), summary


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) in 0..255 -> float in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (B, 3, H, W) in [-1, 1] -> uint8, clamped."""
    return ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
