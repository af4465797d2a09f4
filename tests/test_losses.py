import math

import pytest
import torch

from gan_art import losses


def test_d_loss_hand_computed():
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 3.0])
    expected = (softplus(-2.0) + softplus(0.0)) / 2 + (softplus(-1.0) + softplus(3.0)) / 2
    assert math.isclose(losses.d_loss(real, fake).item(), expected, rel_tol=1e-6)
    assert math.isclose(losses.d_loss(torch.zeros(3), torch.zeros(3)).item(), 2 * math.log(2), rel_tol=1e-6)


def test_g_loss_is_non_saturating():
    assert math.isclose(losses.g_loss(torch.zeros(4)).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(losses.g_loss(torch.tensor([-3.0])).item(), math.log1p(math.exp(3.0)), rel_tol=1e-6)


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    weight = torch.tensor([1.0, -2.0, 0.5]).reshape(1, 3, 1, 1)
    images = torch.randn(4, 3, 2, 2, requires_grad=True)
    logits = (images * weight).sum([1, 2, 3])
    # dD/dx = weight at every pixel: 4 pixels * (1 + 4 + 0.25)
    assert math.isclose(losses.r1_penalty(images, logits).item(), 4 * 5.25, rel_tol=1e-6)


def test_ema_half_life():
    beta = losses.ema_beta(batch_size=32, images_seen=10**9, ema_kimg=10.0, ema_rampup=0.05)
    assert math.isclose(beta ** (10_000 / 32), 0.5, rel_tol=1e-9)
    ramped = losses.ema_beta(batch_size=32, images_seen=1000, ema_kimg=10.0, ema_rampup=0.05)
    assert math.isclose(ramped ** (50 / 32), 0.5, rel_tol=1e-9)
    assert losses.ema_beta(32, 1000, ema_kimg=0.0, ema_rampup=0.05) == 0.0


def test_ema_update_lerps_parameters_and_copies_buffers():
    model = torch.nn.BatchNorm1d(2)
    ema = losses.make_ema(model)
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.running_mean.fill_(7.0)
    losses.ema_update(ema, model, beta=0.75)
    assert torch.allclose(ema.weight, torch.full((2,), 0.75 * 1.0 + 0.25 * 3.0))
    assert torch.equal(ema.running_mean, model.running_mean)
    assert not ema.weight.requires_grad


def test_distance_consistency_is_zero_for_the_parents_own_features_and_grows_as_images_grow_alike():
    torch.manual_seed(0)
    parent = [torch.randn(6, 4, 8, 8), torch.randn(6, 2, 16, 16)]
    assert losses.distance_consistency(parent, parent).abs() < 1e-6
    alike = [maps.lerp(maps.mean(0, keepdim=True), 0.9).requires_grad_(True) for maps in parent]
    loss = losses.distance_consistency(alike, parent)
    assert loss > 1e-4
    loss.backward()
    assert all(maps.grad.abs().sum() > 0 for maps in alike)
    assert losses.distance_consistency([parent[0][:1]], [parent[0][:1]]) == 0  # one image has no others


def test_coarse_l1_sees_layout_and_palette_but_not_detail_finer_than_its_size():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    checker = (torch.arange(64)[:, None] + torch.arange(64)) % 2 * 0.4 - 0.2  # a 1 px pattern, mean 0 per 4x4
    assert losses.coarse_l1(images, images) == 0
    assert losses.coarse_l1(images + checker, images) < 1e-6
    assert losses.coarse_l1(images + 0.2, images) == pytest.approx(0.2)
    assert losses.coarse_l1(images[..., :16, :16] + 0.2, images[..., :16, :16]) == pytest.approx(0.2)  # 16 px as is
