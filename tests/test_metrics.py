"""Image metrics and DiffAugment against values worked out by hand."""
import math

import pytest
import torch

from gan_art import augment
from gan_art.metrics import frechet_distance, psnr, ssim, swd


def test_psnr_of_a_constant_error():
    a = torch.zeros(3, 8, 8, dtype=torch.uint8)
    assert psnr(a, a + 10) == pytest.approx(10 * math.log10(255 ** 2 / 100))  # MSE 100
    assert psnr(a, a) == 99.0


def test_ssim_of_flat_images_is_the_luminance_term():
    """Flat images have no variance, so SSIM is (2 mx my + C1) / (mx^2 + my^2 + C1) with C1 = (0.01 * 255)^2."""
    x = torch.full((3, 16, 16), 100, dtype=torch.uint8)
    y = torch.full((3, 16, 16), 120, dtype=torch.uint8)
    c1 = (0.01 * 255) ** 2
    assert ssim(x, y) == pytest.approx((2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1), rel=1e-9)
    noise = torch.randint(0, 256, (3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert ssim(noise, noise) == pytest.approx(1.0)


def test_frechet_distance_of_two_known_gaussians():
    """1-D: mean 1, variance 2 against mean 3, variance 8: (1 - 3)^2 + 2 + 8 - 2 sqrt(2 * 8) = 6 per dimension."""
    a = torch.tensor([[0.0, 10.0], [2.0, 12.0]])  # dims: (mean 1, var 2), (mean 11, var 2)
    b = torch.tensor([[1.0, 12.0], [5.0, 16.0]])  # dims: (mean 3, var 8), (mean 14, var 8)
    # the second dimension: (11 - 14)^2 + 2 + 8 - 8 = 11; the dimensions are perfectly correlated within each set,
    # which the matrix square root handles: Tr((Sa Sb)^1/2) for Sa = 2 [[1,1],[1,1]], Sb = 8 [[1,1],[1,1]] is 8
    assert frechet_distance(a[:, :1], b[:, :1]) == pytest.approx(6.0)
    assert frechet_distance(a, b) == pytest.approx(4 + 9 + (4 + 16) - 2 * 8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_swd_is_small_for_the_same_images_and_grows_with_a_difference():
    """Patches are sampled at random positions per set, so the same images score near, not exactly, zero."""
    rng = torch.Generator().manual_seed(1)
    smooth = torch.nn.functional.interpolate(torch.rand(64, 3, 8, 8, generator=rng), size=32, mode="bilinear")
    images = (smooth * 255).to(torch.uint8)
    same = swd(images, images)
    assert set(same) == {"swd32", "swd16", "swd_avg"}
    noisy = (images.float() + torch.randn(images.shape, generator=rng) * 40).clamp(0, 255).to(torch.uint8)
    assert swd(images, noisy)["swd32"] > 2 * same["swd32"]


def draws(n: int, seed: int = 0) -> list[float]:
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)).tolist()


def test_color_is_brightness_then_saturation_then_contrast_with_the_generators_draws():
    x = torch.tensor([0.2, -0.4, 0.6]).reshape(1, 3, 1, 1).expand(1, 3, 2, 2).contiguous()
    brightness, saturation, contrast = draws(3)
    y = x + (brightness - 0.5)
    y = (y - y.mean(1, keepdim=True)) * (2 * saturation) + y.mean(1, keepdim=True)
    y = (y - y.mean()) * (contrast + 0.5) + y.mean()
    assert torch.allclose(augment.color(x, torch.Generator().manual_seed(0)), y, atol=1e-6)


def test_mild_color_draws_the_same_changes_at_half_their_range():
    x = torch.tensor([0.2, -0.4, 0.6]).reshape(1, 3, 1, 1).expand(1, 3, 2, 2).contiguous()
    brightness, saturation, contrast = draws(3)
    y = x + (brightness - 0.5) / 2
    y = (y - y.mean(1, keepdim=True)) * (1 + (2 * saturation - 1) / 2) + y.mean(1, keepdim=True)
    y = (y - y.mean()) * (1 + (contrast - 0.5) / 2) + y.mean()
    assert torch.allclose(augment.mild_color(x, torch.Generator().manual_seed(0)), y, atol=1e-6)


def test_half_color_keeps_the_tones_of_a_random_half_of_the_images_and_shifts_the_rest():
    x = torch.linspace(-1, 1, 64 * 3 * 4).reshape(64, 3, 2, 2)
    keep = torch.tensor(draws(64)) < 0.5
    generator = torch.Generator().manual_seed(0)
    torch.rand(64, generator=generator)  # the keep draws come first, then color's own
    shifted = augment.color(x, generator)
    y = augment.half_color(x, torch.Generator().manual_seed(0))
    assert 16 < keep.sum() < 48 and torch.equal(y[keep], x[keep])
    assert torch.allclose(y[~keep], shifted[~keep], atol=1e-6)


def test_translation_shifts_by_whole_pixels_with_zero_padding():
    x = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    u_y, u_x = draws(2)
    dy, dx = min(int(u_y * 3), 2) - 1, min(int(u_x * 3), 2) - 1  # 4 px * 0.125 rounds to a 1 px range
    out = augment.translation(x, torch.Generator().manual_seed(0))
    expected = torch.zeros_like(x)
    for i in range(4):
        for j in range(4):
            if 0 <= i + dy < 4 and 0 <= j + dx < 4:
                expected[0, 0, i, j] = x[0, 0, i + dy, j + dx]
    assert torch.equal(out, expected)


def test_cutout_zeroes_one_square_of_half_the_side():
    x = torch.ones(1, 2, 8, 8)
    out = augment.cutout(x, torch.Generator().manual_seed(0))
    u_y, u_x = draws(2)
    y0, x0 = int(u_y * 9) - 2, int(u_x * 9) - 2
    expected = torch.ones(8, 8)
    expected[max(y0, 0):max(y0 + 4, 0), max(x0, 0):max(x0 + 4, 0)] = 0
    assert torch.equal(out[0, 0], expected) and torch.equal(out[0, 1], expected)
    assert augment.diff_augment(x, "", torch.Generator()) is x
