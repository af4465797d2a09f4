import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from gan_art.data import load_images
from gan_art.devtools import draw_image
from gan_art.errors import DatasetError, ImageError
from gan_art.images import decode_image, to_float, to_uint8


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no data (a decompression bomb header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_folder_loads_resized_uint8(image_folder):
    images, summary = load_images(image_folder, 16)
    assert images.shape == (24, 3, 16, 16) and images.dtype == torch.uint8
    assert summary.num_images == 24 and not summary.skipped


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no usable images"):
        load_images(tmp_path, 16)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_images(tmp_path / "nope", 16)


def test_corrupt_files_are_skipped_and_counted(image_folder):
    (image_folder / "truncated.png").write_bytes(encode(draw_image(99))[:60])
    (image_folder / "empty.jpg").write_bytes(b"")
    (image_folder / "text.png").write_text("<html>not an image</html>")
    (image_folder / "notes.txt").write_text("hello")
    images, summary = load_images(image_folder, 16)
    assert len(images) == 24
    assert sum(summary.skipped.values()) == 4
    assert any("empty.jpg" in e for e in summary.skipped_examples)


def test_only_corrupt_files_is_an_error_naming_the_reasons(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DatasetError, match="not an image file this app can read"):
        load_images(tmp_path, 16)


def test_decompression_bomb_header_is_refused_before_decoding():
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_header_only(20000, 20000))
    with pytest.raises(ImageError, match="9000x9000, too large"):
        decode_image(png_header_only(9000, 9000))


def test_absurd_aspect_ratio_is_refused():
    with pytest.raises(ImageError, match="per side"):
        decode_image(png_header_only(1, 100_000))


def test_zip_with_traversal_entries_reads_only_safe_images(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(3):
            z.writestr(f"faces/ok{i}.png", encode(draw_image(i)))
        z.writestr("../escape.png", encode(draw_image(7)))
        z.writestr("/abs/path.png", encode(draw_image(8)))
        z.writestr("a/../../up.png", encode(draw_image(9)))
    before = set(tmp_path.parent.rglob("*"))
    images, summary = load_images(archive, 16)
    assert len(images) == 3
    assert summary.skipped["unsafe path in archive"] == 3
    assert set(tmp_path.parent.rglob("*")) == before  # nothing extracted anywhere


def test_zip_bomb_entry_is_skipped(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.png", encode(draw_image(1)))
        z.writestr("bomb.png", b"\0" * (20 * 2**20))  # 20 MB of zeros compresses ~1000x
    images, summary = load_images(archive, 16)
    assert len(images) == 1 and summary.skipped["suspicious size"] == 1


def test_not_a_zip_or_folder(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"hello")
    with pytest.raises(DatasetError, match="neither a folder nor a zip"):
        load_images(path, 16)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    decoded = decode_image(encode(img, "JPEG", exif=exif, quality=95))
    assert decoded.size == (20, 40)
    top = np.asarray(decoded)[2, 10]
    assert top[2] > 200 and top[0] < 60  # the blue half is now on top


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "I;16", "1"])
def test_every_mode_becomes_rgb(mode):
    if mode == "I;16":
        img = Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16))
    else:
        img = draw_image(5, 8).convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    decoded = decode_image(encode(img, fmt))
    assert decoded.mode == "RGB" and decoded.size == (8, 8)
    if mode == "I;16":
        assert abs(int(np.asarray(decoded)[0, 0, 0]) - round(40000 / 65535 * 255)) <= 1


def test_transparent_pixels_become_the_background():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(decode_image(encode(img)))[0, 0].tolist() == [255, 255, 255]


def test_float_uint8_round_trip():
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).expand(1, 3, 16, 16)
    assert torch.equal(to_uint8(to_float(x)), x)


def test_off_axis_colour_tells_grey_and_sepia_sets_from_colour_photos():
    from gan_art.data import off_axis_colour
    from gan_art.paths import BUILTIN_FACES
    from gan_art.training import MONOCHROME_BELOW

    faces = load_images(BUILTIN_FACES, 32, max_images=64)[0]
    grey = faces.float().mean(1, keepdim=True)
    sepia = (grey * torch.tensor([1.0, 0.85, 0.65]).view(1, 3, 1, 1)).round().to(torch.uint8)
    assert off_axis_colour(faces) > 3 * MONOCHROME_BELOW
    assert off_axis_colour(grey.round().to(torch.uint8).expand(-1, 3, -1, -1)) == pytest.approx(0.0, abs=1e-9)
    assert off_axis_colour(sepia) < MONOCHROME_BELOW / 10  # one tint: rounding only
    assert off_axis_colour(torch.full((2, 3, 8, 8), 128, dtype=torch.uint8)) == 0.0  # flat images: no colour
