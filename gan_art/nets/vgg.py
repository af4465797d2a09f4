"""ImageNet VGG16 convolutions up to relu4_1 (Simonyan & Zisserman 2015), for style and perceptual losses.

The weights ship in ``checkpoints/vgg16-relu4_1`` (CC BY 4.0; see its MODEL_CARD.md). They are
Caffe weights: inputs are BGR in 0..255 minus the ImageNet mean, which :func:`preprocess` does.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_art.checkpoints import WEIGHTS_FILES, load_weights, read_config, read_tensors
from gan_art.paths import CHECKPOINTS, VGG16

MEAN_BGR = (103.939, 116.779, 123.68)
# (name, in channels, out channels, max-pool before this conv) in torchvision's vgg16().features order
CONVS = (("conv1_1", 3, 64, False), ("conv1_2", 64, 64, False), ("conv2_1", 64, 128, True),
         ("conv2_2", 128, 128, False), ("conv3_1", 128, 256, True), ("conv3_2", 256, 256, False),
         ("conv3_3", 256, 256, False), ("conv4_1", 256, 512, True))
TORCHVISION_INDEX = (0, 2, 5, 7, 10, 12, 14, 17)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"  # Gatys et al.'s content representation


class VGG16Features(nn.Module):
    """(B, 3, H, W) preprocessed images -> {"relu1_1": ..., "relu4_1": ...} activations."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 3, padding=1) for _, cin, cout, _ in CONVS)

    def forward(self, x: torch.Tensor, layers: tuple[str, ...] = STYLE_LAYERS) -> dict[str, torch.Tensor]:
        last = max(layers, key=lambda name: [c[0] for c in CONVS].index("conv" + name[4:]))
        out = {}
        for conv, (name, _, _, pool) in zip(self.convs, CONVS):
            if pool:
                x = F.max_pool2d(x, 2)
            x = F.relu(conv(x))
            relu = "relu" + name[4:]
            if relu in layers:
                out[relu] = x
            if relu == last:
                break
        return out


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (B, 3, H, W) -> Caffe VGG input (BGR, 0..255, mean subtracted)."""
    mean = torch.tensor(MEAN_BGR, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return images.flip(1) * 255.0 - mean


def load_vgg16(device: str | torch.device = "cpu", path: Path = CHECKPOINTS / VGG16) -> VGG16Features:
    """The shipped VGG16 features (a vgg16-features checkpoint folder) in fp32, eval mode, frozen."""
    read_config(path, "vgg16-features")
    weights = Path(path) / WEIGHTS_FILES["vgg16-features"]
    tensors = read_tensors(weights)
    renamed = {f"convs.{i}.{kind}": tensors[f"features.{index}.{kind}"]
               for i, index in enumerate(TORCHVISION_INDEX) for kind in ("weight", "bias")}
    model = VGG16Features()
    load_weights(model, renamed, weights)
    return model.to(device).eval().requires_grad_(False)
