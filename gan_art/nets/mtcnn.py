"""MTCNN's three networks (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", 2016): P-Net proposes faces on an image pyramid, R-Net and O-Net refine them, and
O-Net also places 5 landmarks (eyes, nose, mouth corners).

The weights ship in ``checkpoints/mtcnn`` (exported from the PyPI package facenet-pytorch, MIT; see its
MODEL_CARD.md). They come from Caffe, whose fully connected layers flatten (C, H, W) as (W, H, C): the
dense layers below see their input in that order.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gan_art.checkpoints import load_weights, read_config, read_tensors

INPUT_MEAN, INPUT_SCALE = 127.5, 1 / 128  # pixels (0..255) -> network input


def _caffe_flatten(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    """Fully convolutional proposal net: (B, 3, H, W) -> box offsets (B, 4, h, w), face probability (B, h, w)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 10, 3), nn.PReLU(10), nn.MaxPool2d(2, 2, ceil_mode=True),
                                  nn.Conv2d(10, 16, 3), nn.PReLU(16), nn.Conv2d(16, 32, 3), nn.PReLU(32))
        self.prob, self.box = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.body(x)
        return self.box(x), self.prob(x).softmax(1)[:, 1]


class RNet(nn.Module):
    """Refinement net on 24x24 crops: box offsets (B, 4), face probability (B,)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 28, 3), nn.PReLU(28), nn.MaxPool2d(3, 2, ceil_mode=True),
                                  nn.Conv2d(28, 48, 3), nn.PReLU(48), nn.MaxPool2d(3, 2, ceil_mode=True),
                                  nn.Conv2d(48, 64, 2), nn.PReLU(64))
        self.dense, self.act = nn.Linear(576, 128), nn.PReLU(128)
        self.prob, self.box = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.act(self.dense(_caffe_flatten(self.body(x))))
        return self.box(x), self.prob(x).softmax(1)[:, 1]


class ONet(nn.Module):
    """Output net on 48x48 crops: box offsets (B, 4), landmarks (B, 10: five x then five y, in 0..1 of the box),
    face probability (B,)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 32, 3), nn.PReLU(32), nn.MaxPool2d(3, 2, ceil_mode=True),
                                  nn.Conv2d(32, 64, 3), nn.PReLU(64), nn.MaxPool2d(3, 2, ceil_mode=True),
                                  nn.Conv2d(64, 64, 3), nn.PReLU(64), nn.MaxPool2d(2, 2, ceil_mode=True),
                                  nn.Conv2d(64, 128, 2), nn.PReLU(128))
        self.dense, self.act = nn.Linear(1152, 256), nn.PReLU(256)
        self.prob, self.box, self.landmarks = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.act(self.dense(_caffe_flatten(self.body(x))))
        return self.box(x), self.landmarks(x), self.prob(x).softmax(1)[:, 1]


# facenet-pytorch's parameter names -> ours, per network (the order of the layers is the same)
RENAME = {
    "pnet": {"conv1": "body.0", "prelu1": "body.1", "conv2": "body.3", "prelu2": "body.4", "conv3": "body.5",
             "prelu3": "body.6", "conv4_1": "prob", "conv4_2": "box"},
    "rnet": {"conv1": "body.0", "prelu1": "body.1", "conv2": "body.3", "prelu2": "body.4", "conv3": "body.6",
             "prelu3": "body.7", "dense4": "dense", "prelu4": "act", "dense5_1": "prob", "dense5_2": "box"},
    "onet": {"conv1": "body.0", "prelu1": "body.1", "conv2": "body.3", "prelu2": "body.4", "conv3": "body.6",
             "prelu3": "body.7", "conv4": "body.9", "prelu4": "body.10", "dense5": "dense", "prelu5": "act",
             "dense6_1": "prob", "dense6_2": "box", "dense6_3": "landmarks"},
}


def load_mtcnn(folder: str | Path) -> tuple[PNet, RNet, ONet]:
    """The three networks of an ``mtcnn`` checkpoint folder, in eval mode, frozen."""
    folder = Path(folder)
    read_config(folder, "mtcnn")
    nets = []
    for name, net in (("pnet", PNet()), ("rnet", RNet()), ("onet", ONet())):
        load_weights(net, read_tensors(folder / f"{name}.safetensors"), folder / f"{name}.safetensors")
        nets.append(net.eval().requires_grad_(False))
    return tuple(nets)
