import pytest
import torch

from gan_art.explore import generate_seeds, seed_ws
from gan_art.models import build_discriminator, build_generator
from tests.conftest import tiny_model


@pytest.mark.parametrize("arch", ["stylegan", "dcgan"])
def test_shapes_and_ranges(arch):
    cfg = tiny_model(arch)
    torch.manual_seed(0)
    G, D = build_generator(cfg).eval(), build_discriminator(cfg)
    z = torch.randn(5, cfg.z_dim)
    ws = G.mapping(z)
    assert ws.shape == (5, G.num_ws, G.w_dim)
    images = G.synthesis(ws)
    assert images.shape == (5, 3, 16, 16)
    assert torch.isfinite(images).all()
    assert D(images).shape == (5,)
    if arch == "dcgan":
        assert images.abs().max() <= 1.0  # tanh output


def test_stylegan_num_ws_matches_layers():
    G = build_generator(tiny_model())
    # 16 px: 4 (conv, rgb) + 8 (up, conv, rgb) + 16 (up, conv, rgb), sharing one w between blocks
    assert G.num_ws == 6


@pytest.mark.parametrize("arch", ["stylegan", "dcgan"])
def test_same_seed_same_image(arch):
    torch.manual_seed(1)
    G = build_generator(tiny_model(arch)).eval()
    a = generate_seeds(G, [3, 4])
    b = generate_seeds(G, [4, 3])
    assert a.dtype == torch.uint8
    assert torch.equal(a[0], b[1]) and torch.equal(a[1], b[0])
    assert not torch.equal(a[0], a[1])


def test_truncation_zero_gives_mean_latent():
    torch.manual_seed(2)
    G = build_generator(tiny_model()).eval()
    G.mapping.w_avg.normal_()
    ws_a, ws_b = seed_ws(G, 0, truncation_psi=0.0), seed_ws(G, 1, truncation_psi=0.0)
    assert torch.allclose(ws_a, G.w_avg.expand_as(ws_a)) and torch.equal(ws_a, ws_b)


def test_eval_mode_uses_fixed_noise_and_training_mode_random_noise():
    torch.manual_seed(3)
    G = build_generator(tiny_model())
    for module in G.modules():
        if hasattr(module, "noise_strength"):
            module.noise_strength.data.fill_(1.0)
    ws = G.mapping(torch.randn(1, 8)).detach()
    G.eval()
    assert torch.equal(G.synthesis(ws), G.synthesis(ws))
    G.train()
    assert not torch.equal(G.synthesis(ws), G.synthesis(ws))


def test_golden_slice_of_a_seeded_output():
    """Catches silent changes to initialisation, seeding or the synthesis math."""
    torch.manual_seed(0)
    G = build_generator(tiny_model()).eval()
    with torch.no_grad():
        x = G.synthesis(seed_ws(G, 0))
    assert torch.allclose(x[0, :, 7, 7], torch.tensor([2.2698, 1.1038, 0.6077]), atol=1e-3)
    assert torch.allclose(x[0, 0, 0, :4], torch.tensor([2.5593, 2.6643, 2.7394, 2.5636]), atol=1e-3)
