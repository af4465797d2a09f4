"""Property-based fuzzing of the decode and mask paths: garbage in, a clear ImageError (or a valid image) out."""
from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan_art.devtools import draw_image
from gan_art.errors import ImageError, RepairError
from gan_art.images import decode_image
from gan_art.inpaint import repair
from gan_art.masks import mask_from_upload


def _png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


SEED_FILES = [_png(draw_image(0, 16)), _png(Image.new("RGBA", (9, 5), (1, 2, 3, 0))),
              _png(Image.new("L", (3, 7), 200))]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated_images(draw) -> bytes:
    """A valid small PNG with random bytes flipped, truncated or appended."""
    data = bytearray(draw(st.sampled_from(SEED_FILES)))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=32))


def _decodes_or_refuses(data: bytes) -> None:
    try:
        image = decode_image(data)
    except ImageError as exc:
        assert str(exc)  # a message, never an unexpected exception type
        return
    assert image.mode == "RGB" and image.width > 0 and image.height > 0


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_never_crash_the_decoder(data):
    _decodes_or_refuses(data)


@FUZZ
@given(mutated_images())
def test_mutated_pngs_never_crash_the_decoder(data):
    _decodes_or_refuses(data)


@FUZZ
@given(mutated_images(), st.integers(1, 40), st.integers(1, 40))
def test_masks_from_mutated_files_are_binary_and_sized(data, width, height):
    try:
        mask = mask_from_upload(data, (width, height))
    except ImageError:
        return
    values = set(np.unique(np.asarray(mask)))
    assert mask.size == (width, height) and values <= {0, 255}


@FUZZ
@given(st.integers(2, 48), st.integers(2, 48), st.data())
def test_repair_never_touches_pixels_outside_any_mask(width, height, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    hole = rng.random((height, width)) < data.draw(st.floats(0.0, 1.0))
    mask = Image.fromarray(hole.astype(np.uint8) * 255)
    method = data.draw(st.sampled_from(["telea", "ns"]))
    try:
        result = np.asarray(repair(image, mask, method).image)
    except RepairError:
        assert hole.all()
        return
    assert result.shape == (height, width, 3)
    assert np.array_equal(result[~hole], np.asarray(image)[~hole])
