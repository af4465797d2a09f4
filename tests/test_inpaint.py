import io

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from gan_art.damage import HOLE_BANDS, apply_damage, mask_in_band, random_mask
from gan_art.devtools import draw_image
from gan_art.errors import ImageError, RepairError
from gan_art.images import decode_image
from gan_art.inpaint import detect_damage, repair
from gan_art.masks import mask_from_upload
from gan_art.models.inpaint import InpainterConfig, InpaintGenerator
from gan_art.models.segmenter import DamageSegmenter, SegmenterConfig


@pytest.fixture(scope="module")
def tiny_inpainter():
    torch.manual_seed(0)
    return InpaintGenerator(InpainterConfig(width=4, blocks=1)).eval()


def photo(w, h, seed=0):
    return draw_image(seed, max(w, h)).resize((w, h))


def box_mask(size, box):
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return mask


@pytest.mark.parametrize("method", ["learned", "telea", "ns"])
@pytest.mark.parametrize("size", [(33, 17), (250, 7), (7, 121), (64, 64)])
def test_size_kept_and_outside_pixels_bit_identical(method, size, tiny_inpainter):
    image = photo(*size)
    mask = box_mask(size, (size[0] // 4, size[1] // 4, size[0] // 2 + 1, size[1] // 2 + 1))
    result = repair(image, mask, method, model=tiny_inpainter).image
    assert result.size == image.size
    outside = np.asarray(mask) < 128
    assert np.array_equal(np.asarray(result)[outside], np.asarray(image)[outside])
    assert not np.array_equal(np.asarray(result)[~outside], np.asarray(image)[~outside])


def test_feathering_smooths_the_seam_and_stays_inside_the_mask():
    image, mask = photo(64, 64), box_mask((64, 64), (10, 10, 50, 50))
    hard = np.asarray(repair(image, mask, "telea").image, float)
    soft = np.asarray(repair(image, mask, "telea", feather=6).image, float)
    hole = np.asarray(mask) >= 128
    assert np.array_equal(soft[~hole], np.asarray(image, float)[~hole])
    assert np.array_equal(soft[30, 30], hard[30, 30])  # the centre is further than 6 px from the edge

    def seam(out):  # mean jump across the hole's top edge (row 9 outside, row 10 inside)
        return np.abs(out[10, 10:50] - out[9, 10:50]).mean()

    assert seam(soft) < 0.9 * seam(hard)  # measured 10.6 vs 13.6; without feathering they are equal


def holes_with_every_kind_of_path(side: int) -> np.ndarray:
    """A wide blob (filled at a reduced scale), a thin long scratch (tiled at full size on big photos), spots."""
    mask = np.zeros((side, side), np.uint8)
    cv2.ellipse(mask, (side // 3, side // 3), (side // 6, side // 8), 20, 0, 360, 1, -1)
    cv2.line(mask, (side // 10, side - side // 8), (side - side // 10, side // 2), 1, max(2, side // 100))
    for i in range(5):
        cv2.circle(mask, (side // 2 + i * side // 12, side // 6), max(1, side // 64), 1, -1)
    return mask.astype(bool)


@pytest.mark.parametrize("side,methods", [(128, ("learned", "telea", "ns")), (512, ("learned", "telea", "ns")),
                                          (1500, ("learned",))])
def test_the_fill_never_depends_on_what_is_under_the_mask(side, methods, tiny_inpainter):
    """Whatever the damaged pixels hold (white, black, noise, the original), the repair is the same."""
    clean = np.asarray(photo(side, side, seed=3))
    hole = holes_with_every_kind_of_path(side)
    noise = np.random.default_rng(0).integers(0, 256, clean.shape, dtype=np.uint8)
    mask = Image.fromarray(hole.astype(np.uint8) * 255)
    for method in methods:
        outputs = []
        for under in (255, 0, noise, clean):
            damaged = clean.copy()
            damaged[hole] = under[hole] if isinstance(under, np.ndarray) else under
            outputs.append(np.asarray(repair(Image.fromarray(damaged), mask, method, feather=3,
                                             model=tiny_inpainter).image))
        assert all(np.array_equal(outputs[0], other) for other in outputs[1:]), (side, method)


def test_empty_mask_returns_the_input_and_full_mask_is_refused(tiny_inpainter):
    image = photo(40, 30)
    result = repair(image, Image.new("L", (40, 30), 0), "learned", model=tiny_inpainter)
    assert np.array_equal(np.asarray(result.image), np.asarray(image)) and "empty" in result.note
    with pytest.raises(RepairError, match="whole photo"):
        repair(image, Image.new("L", (40, 30), 255), "telea")


def test_mask_size_mismatch_is_resized_or_refused():
    image = photo(80, 40)
    half = box_mask((40, 20), (10, 5, 20, 10))
    assert repair(image, half, "telea").image.size == (80, 40)
    with pytest.raises(RepairError, match="shape"):
        repair(image, box_mask((40, 40), (0, 0, 5, 5)), "telea")


def test_large_holes_in_large_images_are_filled_coarsely_and_say_so(tiny_inpainter):
    image = photo(600, 400)
    result = repair(image, box_mask((600, 400), (100, 100, 400, 350)), "learned", model=tiny_inpainter)
    assert result.image.size == (600, 400) and "scale" in result.note


def encode(img, fmt="PNG", **kw):
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kw)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGBA", "L", "I;16", "P"])
def test_any_input_mode_is_repaired(mode):
    base = photo(48, 48)
    img = Image.fromarray(np.full((48, 48), 30000, np.uint16)) if mode == "I;16" else base.convert(mode)
    decoded = decode_image(encode(img))
    assert repair(decoded, box_mask((48, 48), (5, 5, 20, 20)), "telea").image.mode == "RGB"


def test_exif_rotated_photo_and_mask_line_up():
    img = photo(60, 30)
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encode(img, "JPEG", exif=exif))
    assert decoded.size == (30, 60)
    assert repair(decoded, box_mask((30, 60), (5, 5, 10, 10)), "ns").image.size == (30, 60)


def test_masks_from_uploads():
    transparent = Image.new("RGBA", (20, 10), (0, 0, 0, 255))
    transparent.paste((0, 0, 0, 0), (0, 0, 5, 5))
    mask = np.asarray(mask_from_upload(encode(transparent), (20, 10)))
    assert mask[:5, :5].min() == 255 and mask[6:].max() == 0
    white = box_mask((10, 5), (0, 0, 2, 2))
    assert np.asarray(mask_from_upload(encode(white), (20, 10)))[:4, :4].min() == 255
    with pytest.raises(ImageError):
        mask_from_upload(b"garbage", (20, 10))


def test_hole_bands_and_training_masks():
    rng = np.random.default_rng(0)
    for low, high in HOLE_BANDS:
        ratios = [mask_in_band((64, 64), rng, low, high).mean() for _ in range(5)]
        assert all(low <= r < high for r in ratios)
    assert all(random_mask((64, 64), rng).mean() <= 0.5 for _ in range(20))


def test_damage_changes_exactly_the_masked_pixels_noticeably():
    rng = np.random.default_rng(1)
    clean = np.asarray(photo(96, 96))
    for kind in ("scratch", "crack", "fold", "dust", "stain", "block"):
        damaged, mask = apply_damage(clean, rng, (kind,))
        assert mask.any(), kind
        changed = np.abs(damaged.astype(int) - clean).sum(2)
        assert changed[~mask].mean() < changed[mask].mean(), kind


def test_detector_output_is_a_mask_of_the_photo_size():
    torch.manual_seed(0)
    model = DamageSegmenter(SegmenterConfig(width=4)).eval()
    mask = detect_damage(photo(50, 37), model=model)
    assert mask.size == (50, 37) and mask.mode == "L" and set(np.unique(mask)) <= {0, 255}
