"""A corpus of hostile and unusual upload files, generated on the fly (nothing binary is committed)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from gan_art.devtools import draw_image


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height and carries almost no data (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def broken_files() -> dict[str, bytes]:
    """Files no image path may accept; each must give a clear message."""
    picture = draw_image(1, 64)
    files = {f"truncated.{ext}": _encode(picture, fmt)[: len(_encode(picture, fmt)) // 2]
             for ext, fmt in (("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("gif", "GIF"))}
    files.update({f"empty.{ext}": b"" for ext in ("png", "jpg", "webp", "gif")})
    files["bomb-30000x30000.png"] = png_header(30_000, 30_000)
    files["strip-1x100000.png"] = png_header(1, 100_000)
    files["text-renamed.png"] = b"just some text, not an image\n" * 10
    files["page-renamed.png"] = b"<html><body><script>alert(1)</script></body></html>"
    files["drawing-renamed.png"] = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    return files


def odd_but_valid_files() -> dict[str, bytes]:
    """Unusual images every image path must accept and process."""
    picture = draw_image(2, 64)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [draw_image(i, 32) for i in range(3)]
    palette = picture.convert("P")
    palette.info["transparency"] = 0
    return {
        "tiny-1x1.png": _encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
        "cmyk.jpg": _encode(picture.convert("CMYK"), "JPEG"),
        "sixteen-bit.png": _encode(Image.fromarray(np.linspace(0, 65535, 64 * 64, dtype=np.uint16).reshape(64, 64)),
                                   "PNG"),
        "palette-transparent.png": _encode(palette, "PNG"),
        "animated.gif": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        "animated.webp": _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100),
        "exif-rotated.jpg": _encode(picture.resize((64, 32)), "JPEG", exif=exif),
        "grayscale.png": _encode(picture.convert("L"), "PNG"),
        "rgba.png": _encode(picture.convert("RGBA"), "PNG"),
    }


def hostile_zips(folder: Path) -> dict[str, Path]:
    """Zip archives for the dataset upload: bombs, traversal, absolute paths, nothing usable."""
    png = _encode(draw_image(3, 32), "PNG")
    specs = {
        "bomb.zip": {"huge.png": b"\0" * (80 * 2**20)},
        "traversal.zip": {"../../outside.png": png, "../x/../../y.png": png},
        "absolute.zip": {"/etc/cron.d/evil.png": png, "C:\\\\windows\\\\evil.png": png},
        "empty.zip": {},
        "not-images.zip": {"readme.txt": b"hello", "data.csv": b"1,2,3"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, entries in specs.items():
        path = folder / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry, data in entries.items():
                info = zipfile.ZipInfo(entry)  # a raw ZipInfo keeps hostile names exactly as written
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        paths[name] = path
    return paths


def write_all(folder: Path, files: dict[str, bytes]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths
