"""Datasets: image folders and zip archives -> (N, 3, R, R) uint8 tensors, every file decoded safely.

Zip entries are read in memory and never extracted, so a hostile name like ``../../etc/passwd``
can neither be written nor read outside the archive; sizes and compression ratios are checked
before anything is decompressed (see :mod:`gan_art.images` for the per-image checks).
"""
from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan_art.errors import DatasetError, ImageError
from gan_art.images import MAX_FILE_BYTES, decode_image, fit_square

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_ARCHIVE_BYTES = 4 * 2**30  # total uncompressed bytes read from one zip
MAX_ZIP_RATIO = 200  # uncompressed/compressed; image formats are already compressed


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
                on_progress: Callable[[int], None] | None = None,
                select: Callable[[str], bool] | None = None) -> tuple[torch.Tensor, DataSummary]:
    """Decode a folder or zip into a (N, 3, R, R) uint8 tensor; corrupt files are skipped and counted.
    ``select`` (a file name -> bool) keeps only some files, without decoding the others."""
    summary = DataSummary(source=str(path))
    arrays = []
    for name, data in iter_image_files(path, summary):
        if select is not None and not select(name):
            continue
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


def off_axis_colour(images: torch.Tensor) -> float:
    """The median, over ``images`` (N, 3, H, W), of the share of an image's pixel variance that lies off its main
    colour axis: 0 for a grey or single-tinted (sepia) image, and for one of two flat colours; a few hundredths for
    a photo or a painting."""
    pixels = images.flatten(2).transpose(1, 2).double()  # (N, H*W, 3)
    pixels = pixels - pixels.mean(1, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(pixels.transpose(1, 2) @ pixels).clamp_min(0)  # ascending, per image
    share = eigenvalues[:, :2].sum(1) / eigenvalues.sum(1).clamp_min(1e-12)
    return float(share.median())
