"""Latent-space math: seeds, truncation, style mixing, direction edits, recipes and interpolation.

Every image is reproducible from a :class:`Recipe` (checkpoint, seed and settings), which travels
inside the PNGs the app writes, so dropping a PNG back into the app restores every control.
"""
from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin
from torch import nn

from gan_art.errors import ConfigError, ImageError, RecipeError
from gan_art.images import open_image, to_uint8
from gan_art.upscale import DEFAULT_DETAIL

RECIPE_KEY = "gan_art_recipe"
RECIPE_VERSION = 1
LAYER_GROUPS = ("all", "coarse", "middle", "fine")



@dataclass(frozen=True)
class Direction:
    """A named latent direction: ``vector`` is the w offset (w_dim,) of one slider unit."""

    name: str
    kind: str  # "pca", "labelled" or "custom"
    vector: torch.Tensor
    description: str = ""


def seed_latent(seed: int, z_dim: int) -> torch.Tensor:
    """The z (1, z_dim) for ``seed``: the same on every machine (its own CPU generator)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, z_dim, generator=generator)


def _device(generator: nn.Module) -> torch.device:
    return next(generator.parameters()).device


@torch.no_grad()
def seed_ws(generator: nn.Module, seed: int, truncation_psi: float = 1.0) -> torch.Tensor:
    """Per-layer latents ws (1, num_ws, w_dim) for ``seed``."""
    return generator.mapping(seed_latent(seed, generator.z_dim).to(_device(generator)), truncation_psi)


@torch.no_grad()
def sample_w(generator: nn.Module, num_samples: int, seed: int, batch_size: int = 1000) -> torch.Tensor:
    """(N, w_dim) latents w of ``num_samples`` random z (psi = 1), reproducible from ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, generator.z_dim, generator=rng)
    return torch.cat([generator.mapping(c.to(_device(generator)))[:, 0].cpu() for c in z.split(batch_size)])


def sample_ws(generator: nn.Module, num_samples: int, seed: int) -> torch.Tensor:
    """:func:`sample_w` as per-layer latents (N, num_ws, w_dim) on the generator's device (at psi = 1 every
    layer gets the same w, as the mapping networks give it)."""
    w = sample_w(generator, num_samples, seed).to(_device(generator))
    return w[:, None, :].expand(-1, generator.num_ws, -1)


def encode_ws(ws: torch.Tensor) -> str:
    """ws (1, num_ws, w_dim) as base64 of its float32 bytes: exact, and small enough for a PNG's text chunk."""
    return base64.b64encode(ws.detach().float().cpu().numpy().astype("<f4").tobytes()).decode()


def decode_ws(text: str, num_ws: int, w_dim: int) -> torch.Tensor:
    """Inverse of :func:`encode_ws`, checked against the generator's latent shape."""
    try:
        values = np.frombuffer(base64.b64decode(text, validate=True), dtype="<f4")
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"the recipe's projected latent is damaged: {exc}") from None
    if values.size != num_ws * w_dim:
        raise RecipeError(f"the recipe's projected latent has {values.size} values; this checkpoint needs "
                          f"{num_ws} x {w_dim} (it was found with another generator)")
    return torch.from_numpy(values.copy()).reshape(1, num_ws, w_dim)


@torch.no_grad()
def synthesize(generator: nn.Module, ws: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, R, R) images for ws (B, num_ws, w_dim)."""
    return to_uint8(generator.synthesis(ws.to(_device(generator)))).cpu()


@torch.no_grad()
def sample_images(generator: nn.Module, z: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """uint8 (N, 3, R, R) images of ``generator`` for latents ``z`` (psi = 1), in batches."""
    device = next(generator.parameters()).device
    return torch.cat([to_uint8(generator(chunk.to(device))).cpu() for chunk in z.split(batch_size)])


def generate_seeds(generator: nn.Module, seeds: list[int], truncation_psi: float = 1.0) -> torch.Tensor:
    """uint8 (N, 3, R, R) images, one per seed; each image depends only on its own seed."""
    return torch.cat([synthesize(generator, seed_ws(generator, seed, truncation_psi)) for seed in seeds])


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            start, _, end = part.partition("-")
            seeds.extend(range(int(start), int(end or start) + 1))
    except ValueError:
        seeds = []
    if not seeds or any(s < 0 or s >= 2**32 for s in seeds) or len(seeds) > 100_000:
        raise ConfigError(f"seeds must be non-negative integers below 2**32 like '0-63' or '1,5,9', got {text!r}")
    return seeds


def layer_range(num_ws: int, group: str) -> tuple[int, int]:
    """ws indices [start, end) of a layer group: coarse 4-8 px, middle 16-32 px, fine 64 px and up."""
    bounds = {"all": (0, num_ws), "coarse": (0, 4), "middle": (4, 8), "fine": (8, num_ws)}
    if group not in bounds:
        raise RecipeError(f"layer group must be one of {LAYER_GROUPS}, got {group!r}")
    start, end = bounds[group]
    return min(start, num_ws), min(end, num_ws)


@dataclass
class Recipe:
    """Everything that determines an Explore image."""

    checkpoint: str = "faces"  # checkpoint name as listed in the app
    checkpoint_id: str = ""  # short hash of the generator weights
    seed: int = 0
    truncation_psi: float = 0.7
    directions: dict[str, float] = field(default_factory=dict)  # direction name -> slider value (std units)
    layers: str = "all"  # layer group the directions edit
    latent: dict[int, float] = field(default_factory=dict)  # z index -> offset added to z
    projected: str = ""  # a photo's face found in the latent space (encode_ws); replaces the seed's latent
    mix_seed: int | None = None  # style mixing: take some layers from this seed
    mix_layers: str = "fine"  # which layer group comes from mix_seed
    upscaler: str = ""  # upscaler checkpoint that enlarges the image; "" = the generator's own resolution
    upscaler_id: str = ""  # short hash of the upscaler's weights
    detail: float = DEFAULT_DETAIL  # upscaler detail: 0 = faithful (its L1 network), 1 = detailed (its adversarial one)
    photo_face: list[float] = field(default_factory=list)  # where a projected face sits in its photo: the 2x3 affine
    # (row by row) taking photo pixels to the aligned crop at the generator's resolution; with the photo, replays
    # the edit on it
    version: int = RECIPE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        try:
            values = json.loads(text)
            names = {f.name for f in fields(cls)}
            values = {k: v for k, v in values.items() if k in names}
            recipe = cls(**values)
            recipe.latent = {int(k): float(v) for k, v in recipe.latent.items()}
            recipe.directions = {str(k): float(v) for k, v in recipe.directions.items()}
            recipe.seed, recipe.truncation_psi = int(recipe.seed), float(recipe.truncation_psi)
            recipe.detail = float(recipe.detail)
            recipe.photo_face = [float(v) for v in recipe.photo_face]
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise RecipeError(f"the recipe in this PNG is damaged: {exc}") from None
        if recipe.version > RECIPE_VERSION:
            raise RecipeError(f"recipe version {recipe.version} is newer than this app ({RECIPE_VERSION})")
        return recipe


@torch.no_grad()
def recipe_ws(generator: nn.Module, directions: dict[str, Direction], recipe: Recipe) -> torch.Tensor:
    """ws (1, num_ws, w_dim) for a recipe: seed (+ z offsets) or a projected photo -> truncation -> mixing ->
    direction edits."""
    device = _device(generator)
    if recipe.projected:
        ws = decode_ws(recipe.projected, generator.num_ws, generator.w_avg.shape[-1]).to(device)
        ws = generator.w_avg.lerp(ws, recipe.truncation_psi)  # truncation: towards the average face
    else:
        z = seed_latent(recipe.seed, generator.z_dim)
        for index, offset in recipe.latent.items():
            if not 0 <= index < generator.z_dim:
                raise RecipeError(f"latent index {index} is outside this model's z (size {generator.z_dim})")
            z[0, index] += offset
        ws = generator.mapping(z.to(device), recipe.truncation_psi).clone()
    if recipe.mix_seed is not None:
        start, end = layer_range(generator.num_ws, recipe.mix_layers)
        ws[:, start:end] = seed_ws(generator, recipe.mix_seed, recipe.truncation_psi)[:, start:end]
    start, end = layer_range(generator.num_ws, recipe.layers)
    for name, value in recipe.directions.items():
        if value == 0:
            continue
        if name not in directions:
            raise RecipeError(f"direction {name!r} does not exist for this checkpoint")
        ws[:, start:end] += value * directions[name].vector.to(device)
    return ws


def render(generator: nn.Module, directions: dict[str, Direction], recipe: Recipe) -> np.ndarray:
    """The recipe's image as (R, R, 3) uint8."""
    return synthesize(generator, recipe_ws(generator, directions, recipe))[0].permute(1, 2, 0).numpy()


def png_with_recipe(image: np.ndarray | Image.Image, recipe: Recipe) -> bytes:
    """PNG bytes with the recipe as a text chunk (readable by any PNG tool)."""
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, recipe.to_json())
    info.add_text("Software", "GAN Art Studio")
    buffer = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def recipe_from_png(data: bytes) -> Recipe:
    """The recipe embedded in a PNG written by :func:`png_with_recipe`; clear errors otherwise."""
    try:
        img = open_image(data)
    except ImageError as exc:
        raise RecipeError(f"could not read this file: {exc}") from None
    if img.format != "PNG":
        raise RecipeError(f"this is a {img.format or 'non-image'} file; drop a PNG saved by GAN Art Studio")
    text = img.info.get(RECIPE_KEY)
    if text is None:
        raise RecipeError("this PNG carries no GAN Art Studio recipe (was it saved by the app's download button?)")
    return Recipe.from_json(text)


def interpolation_weights(num_frames: int, loop: bool) -> list[float]:
    """Eased 0..1 positions; ``loop`` goes there and back so the animation repeats seamlessly."""
    if num_frames < 2:
        raise RecipeError("an interpolation needs at least 2 frames")
    ts = [0.5 - 0.5 * math.cos(math.pi * i / (num_frames - 1)) for i in range(num_frames)]
    return ts + ts[-2:0:-1] if loop else ts


@torch.no_grad()
def interpolate(generator: nn.Module, ws_a: torch.Tensor, ws_b: torch.Tensor, num_frames: int = 24,
                loop: bool = True, batch_size: int = 8) -> list[np.ndarray]:
    """Frames (R, R, 3) uint8 along the straight line in w from ws_a to ws_b (w is smooth to walk in)."""
    ts = torch.tensor(interpolation_weights(num_frames, loop))
    frames = []
    for chunk in ts.split(batch_size):
        ws = ws_a.lerp(ws_b, chunk[:, None, None].to(ws_a))
        frames.extend(img.permute(1, 2, 0).numpy() for img in synthesize(generator, ws))
    return frames


def save_animation(frames: list[np.ndarray], gif: Path, mp4: Path, fps: int = 12) -> None:
    """Write (R, R, 3) uint8 frames as a looping GIF and an H.264 MP4."""
    # imageio (with imageio-ffmpeg's bundled ffmpeg: no system ffmpeg needed) is imported here, where MP4s are
    # written, so that training and the CLI also run where it is not installed (the GPU machine)
    import imageio.v2 as imageio

    images = [Image.fromarray(f) for f in frames]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    with imageio.get_writer(mp4, fps=fps, codec="libx264", quality=8, macro_block_size=16,
                            ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)


def variation_recipes(recipe: Recipe, pca_names: list[str], count: int = 16, strength: float = 1.0,
                      seed: int = 0) -> list[Recipe]:
    """Recipes near ``recipe``: its principal-direction sliders nudged by N(0, strength^2) each."""
    rng = np.random.default_rng([recipe.seed, seed])
    result = []
    for _ in range(count):
        directions = dict(recipe.directions)
        for name, delta in zip(pca_names, rng.normal(0.0, strength, len(pca_names))):
            directions[name] = round(directions.get(name, 0.0) + float(delta), 2)
        result.append(Recipe(**{**asdict(recipe), "directions": directions}))
    return result
