"""Style transfer: a fast mode for any style (Magenta arbitrary stylization) and a detailed Gatys mode.

Fast mode (Ghiasi et al. 2017) predicts a 100-d style vector from the style image and runs one
feed-forward transform network (onnxruntime; weights in checkpoints/style-magenta). Strength blends
the style vector with the content's own, two styles mix by blending their vectors. Detailed mode
(Gatys et al. 2016) optimises the image itself against VGG16 Gram matrices, streaming progress.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_art.checkpoints import read_config
from gan_art.errors import StyleError
from gan_art.images import pil_to_tensor, tensor_to_pil
from gan_art.masks import feather
from gan_art.nets.vgg import CONTENT_LAYER, STYLE_LAYERS, load_vgg16, preprocess
from gan_art.paths import CHECKPOINTS, STYLE_MAGENTA, VGG16

PAINTINGS = Path(__file__).resolve().parent / "assets" / "styles"
STYLE_INPUT = 256  # the style predictor's fixed input size
MIN_SIDE = 16
MAX_SIDE = 2048
DETAILED_DEFAULT_SIDE = 512  # detailed mode optimises every pixel: larger photos are worked at this size unless asked



def builtin_styles() -> dict[str, Path]:
    """The public-domain paintings that ship with the app, by name."""
    return {p.stem: p for p in sorted(PAINTINGS.glob("*.jpg"))}


def output_side(image: Image.Image, size: int | None, cap: int = MAX_SIDE) -> int:
    """``size`` when given, else the photo's own long side, at most ``cap``."""
    return int(size) if size else min(max(image.size), cap)


def fit_long_side(image: Image.Image, size: int) -> Image.Image:
    """Resize so the long side is ``size`` (up or down), keeping the aspect ratio."""
    if not MIN_SIDE <= size <= MAX_SIDE:
        raise StyleError(f"output size must be between {MIN_SIDE} and {MAX_SIDE} px, got {size}")
    w, h = image.size
    scale = size / max(w, h)
    new = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    return image if new == image.size else image.resize(new, Image.Resampling.LANCZOS)


def style_patch(style: Image.Image, scale: float = 1.0) -> Image.Image:
    """The 256x256 view of a style image the predictor sees; ``scale`` > 1 zooms in (bigger strokes)."""
    if not 0.25 <= scale <= 4.0:
        raise StyleError(f"style scale must be between 0.25 and 4, got {scale}")
    side = STYLE_INPUT * scale
    w, h = style.size
    resized = style.resize((max(1, round(w * side / min(w, h))), max(1, round(h * side / min(w, h)))),
                           Image.Resampling.LANCZOS)
    if resized.width < STYLE_INPUT or resized.height < STYLE_INPUT:  # zoomed out: repeat the painting
        tiled = np.tile(np.asarray(resized), (STYLE_INPUT // resized.height + 1, STYLE_INPUT // resized.width + 1, 1))
        resized = Image.fromarray(tiled)
    left, top = (resized.width - STYLE_INPUT) // 2, (resized.height - STYLE_INPUT) // 2
    return resized.crop((left, top, left + STYLE_INPUT, top + STYLE_INPUT))


def _nhwc(image: Image.Image) -> np.ndarray:
    return (np.asarray(image, dtype=np.float32) / 255.0)[None]


class FastStylizer:
    """Magenta arbitrary image stylization through onnxruntime (thread-safe; load once per process)."""

    def __init__(self, folder: Path = CHECKPOINTS / STYLE_MAGENTA, threads: int = 0) -> None:
        import onnxruntime as ort  # loaded on first use: only fast style needs its native libraries

        folder = Path(folder)
        read_config(folder, "magenta-style")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        providers = ["CPUExecutionProvider"]
        for name in ("style_predict.onnx", "style_transform.onnx"):
            if not (folder / name).is_file():
                raise StyleError(f"{folder / name} is missing; run scripts/export_shipped_weights.py")
        self.predict = ort.InferenceSession(str(folder / "style_predict.onnx"), options, providers=providers)
        self.transform = ort.InferenceSession(str(folder / "style_transform.onnx"), options, providers=providers)
        self._inputs = [i.name for i in self.transform.get_inputs()]

    def style_vector(self, style: Image.Image, scale: float = 1.0) -> np.ndarray:
        """The 100-d style embedding of an RGB image."""
        return self.predict.run(None, {"style_image": _nhwc(style_patch(style, scale))})[0].reshape(100)

    def transform_image(self, content: Image.Image, vector: np.ndarray) -> Image.Image:
        """Stylise an RGB image (any size) with a style embedding."""
        out = self.transform.run(None, {self._inputs[0]: _nhwc(content),
                                        self._inputs[1]: vector.reshape(1, 1, 1, 100).astype(np.float32)})[0]
        result = Image.fromarray((np.clip(out[0], 0, 1) * 255 + 0.5).astype(np.uint8))
        # the network's strided layers round odd sizes (150 px comes back as 152): give back the photo's size
        return result if result.size == content.size else result.resize(content.size, Image.Resampling.LANCZOS)


_fast: dict[Path, FastStylizer] = {}
_fast_lock = threading.Lock()


def fast_stylizer(folder: Path = CHECKPOINTS / STYLE_MAGENTA) -> FastStylizer:
    """The process-wide fast stylizer of a magenta-style checkpoint folder, loaded on first use."""
    with _fast_lock:
        if Path(folder) not in _fast:
            _fast[Path(folder)] = FastStylizer(folder)
        return _fast[Path(folder)]


def preserve_colors(stylized: Image.Image, content: Image.Image) -> Image.Image:
    """Luminance of the stylised image with the chroma (Cb, Cr) of the content."""
    luma, _, _ = stylized.convert("YCbCr").split()
    _, cb, cr = content.resize(stylized.size, Image.Resampling.LANCZOS).convert("YCbCr").split()
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def apply_mask(stylized: Image.Image, content: Image.Image, mask: Image.Image, radius: float = 4.0) -> Image.Image:
    """Stylised where ``mask`` is white, the original content where it is black, softly blended."""
    mask = feather(mask.convert("L").resize(stylized.size, Image.Resampling.BILINEAR), radius)
    return Image.composite(stylized, content.resize(stylized.size, Image.Resampling.LANCZOS), mask)


def stylize_fast(content: Image.Image, styles: list[tuple[Image.Image, float]], strength: float = 1.0,
                 style_scale: float = 1.0, keep_colors: bool = False, mask: Image.Image | None = None,
                 size: int | None = None, stylizer: FastStylizer | None = None) -> Image.Image:
    """Restyle ``content``: blend of ``styles`` (image, weight), strength 0..1, output long side ``size``
    (default: the photo's own, at most 2048 px)."""
    if not styles or sum(w for _, w in styles) <= 0 or any(w < 0 for _, w in styles):
        raise StyleError("give at least one style image with a positive weight")
    if not 0.0 <= strength <= 1.0:
        raise StyleError(f"strength must be between 0 and 1, got {strength}")
    stylizer = stylizer or fast_stylizer()
    content = fit_long_side(content, output_side(content, size))
    total = sum(w for _, w in styles)
    vector = sum(w / total * stylizer.style_vector(image, style_scale) for image, w in styles)
    if strength < 1.0:  # Magenta's own knob: interpolate towards the content's style embedding
        vector = strength * vector + (1.0 - strength) * stylizer.style_vector(content)
    result = stylizer.transform_image(content, vector)
    if keep_colors:
        result = preserve_colors(result, content)
    if mask is not None:
        result = apply_mask(result, content, mask)
    return result


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by the number of elements, (B, C, C)."""
    B, C, H, W = features.shape
    f = features.float().reshape(B, C, H * W)
    return f @ f.transpose(1, 2) / (C * H * W)


def style_distances(vgg, image: torch.Tensor, style: torch.Tensor, content: torch.Tensor) -> dict[str, float]:
    """Gram-matrix distance to the style and content-layer (relu4_1) distance to the content (lower = closer)."""
    with torch.no_grad():
        fi, fs, fc = (vgg(preprocess(x), STYLE_LAYERS) for x in (image, style, content))
    gram_distance = sum(F.mse_loss(gram(fi[k]), gram(fs[k])).item() for k in STYLE_LAYERS)
    return {"gram_distance": gram_distance, "content_distance": F.mse_loss(fi[CONTENT_LAYER], fc[CONTENT_LAYER]).item()}


def detailed_steps(content: Image.Image, style: Image.Image, size: int | None = None, iterations: int = 300,
                   content_weight: float = 1.0, style_weight: float = 1e6, tv_weight: float = 1e-3, lr: float = 0.02,
                   device: str = "cpu", progress_every: int = 10, vgg_path: Path = CHECKPOINTS / VGG16
                   ) -> Iterator[tuple[int, Image.Image]]:
    """Gatys et al.: optimise the image (starting from the content) for VGG16 content + Gram style losses.

    Yields (iteration, current image) every ``progress_every`` iterations and at the end; closing
    the generator stops the optimisation at once. ``size`` (long side) defaults to the photo's own, at
    most DETAILED_DEFAULT_SIDE.
    """
    if not 1 <= iterations <= 5000:
        raise StyleError(f"iterations must be between 1 and 5000, got {iterations}")
    vgg = load_vgg16(device, vgg_path)
    size = output_side(content, size, DETAILED_DEFAULT_SIDE)
    content_x = pil_to_tensor(fit_long_side(content, size), device)
    style_x = pil_to_tensor(fit_long_side(style, size), device)
    with torch.no_grad():
        target_content = vgg(preprocess(content_x), (CONTENT_LAYER,))[CONTENT_LAYER]
        target_grams = {k: gram(v) for k, v in vgg(preprocess(style_x), STYLE_LAYERS).items()}
    image = content_x.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    for step in range(1, iterations + 1):
        features = vgg(preprocess(image), STYLE_LAYERS)
        loss = content_weight * F.mse_loss(features[CONTENT_LAYER], target_content)
        loss = loss + style_weight * sum(F.mse_loss(gram(features[k]), target_grams[k]) for k in STYLE_LAYERS)
        tv = (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., 1:] - image[..., :-1]).abs().mean()
        loss = loss + tv_weight * tv
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        if step % progress_every == 0 or step == iterations:
            yield step, tensor_to_pil(image)


def stylize_detailed(content: Image.Image, style: Image.Image, **settings) -> Image.Image:
    """The final image of :func:`detailed_steps`."""
    return deque(detailed_steps(content, style, **settings), maxlen=1)[0][1]
