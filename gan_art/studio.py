"""The facade the UI calls: every capability of the app, by name. No Gradio here.

Models are loaded once per process and shared by every browser session (an LRU of a few);
per-session state (sliders, favourites) lives in the UI as plain values and recipes.
"""
from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan_art.attributes import load_classifier
from gan_art.checkpoints import (
    KINDS,
    STATE_FILE,
    Checkpoint,
    fine_tuned_from,
    list_checkpoints,
    load_generator,
    named_upscaler,
    read_config,
    recover_checkpoints,
)
from gan_art.directions import (
    DIRECTIONS_META,
    combine_directions,
    inherited_directions,
    load_directions,
    pca_directions,
    save_custom_direction,
    save_directions,
)
from gan_art.encoder import ENCODER_META, encode_face, load_encoder
from gan_art.errors import CheckpointError, DatasetError, DirectionError, ImageError, RecipeError, RunError, StyleError
from gan_art.explore import (
    LAYER_GROUPS,
    Direction,
    Recipe,
    encode_ws,
    interpolate,
    png_with_recipe,
    recipe_from_png,
    recipe_ws,
    render,
    save_animation,
    variation_recipes,
)
from gan_art.faces import MIN_FACE, AlignedFace, align, find_faces, paste_back, shows_a_face
from gan_art.images import decode_image, to_float, upscale
from gan_art.inpaint import METHODS, damaged_share, detect_damage, load_inpainter, load_segmenter, repair
from gan_art.invert import Likeness, invert
from gan_art.masks import mask_from_layers, mask_from_upload, open_layer
from gan_art.nets.vgg import load_vgg16
from gan_art.paths import (
    ATTRIBUTES,
    BUILTIN_FACES,
    CHECKPOINTS,
    INPAINTER,
    MTCNN,
    OUTPUTS,
    REPO,
    RUNS,
    SEGMENTER,
    STYLE_MAGENTA,
    UPSCALER,
    VGG16,
)
from gan_art.photo_edit import aligned_view, carry_edit, check_transform, edit_warnings, edited_view
from gan_art.rundir import RunDir
from gan_art.runs import (
    BUILTIN_LICENSE,
    DatasetPreview,
    Estimate,
    RunManager,
    RunView,
    TrainRequest,
    app_config,
    default_batch_size,
    default_request,
    preview_dataset,
    stage_files,
)
from gan_art.style import builtin_styles, detailed_steps, fast_stylizer, stylize_fast
from gan_art.training import TRANSFER_IMAGES
from gan_art.upscale import DEFAULT_DETAIL, FaceUpscaler, load_upscaler, upscale_photo

# the UI imports these from here: the facade is its only door into gan_art (besides gan_art.errors)
__all__ = ["DEFAULT_DETAIL", "LAYER_GROUPS", "TRANSFER_IMAGES", "AlignedFace", "Recipe", "Studio", "TrainRequest",
           "damaged_share", "default_batch_size", "png_with_recipe"]

DEFAULT_CHECKPOINT = "faces"
# benchmarks/inpaint_quality.py --photos benchmarks/data/non_faces gan_art/assets/styles (results/inpaint_quality.jsonl)
NO_FACE_UPSCALE_ADVICE = ("No face found in this photo: the upscaler learned faces only, and on other pictures it "
                          "may invent face-like texture. Tick 'Upscale anyway' to go ahead.")
NO_FACE_REPAIR_ADVICE = ("No face found in this photo: the learned method is trained on faces; on photos and "
                         "paintings without faces **telea** measured as good (within 0.7 dB, textures closer) "
                         "and is faster. Try it.")
RUN_PREFIX = "runs/"
CHECKPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# nine in ten of 30 hold-out faces reconstruct closer than this after 100 steps (p90 0.842, p50 0.674:
# benchmarks/photo_edit_quality.py --faces 30, results/photo_edit_quality.jsonl)
POOR_RECONSTRUCTION = 0.84
UPSCALED_SIZE = 256  # the browser scales further; a bigger server-side image costs encode time
UPSCALER_FILE = KINDS["upscaler"].files[0]
MAX_OUTPUT_FILES = 2000  # oldest downloads are deleted beyond this, so a long-running app cannot fill the disk


@dataclass
class LoadedModel:
    name: str
    checkpoint: Checkpoint
    directions: dict[str, Direction]

    @property
    def generator(self) -> torch.nn.Module:
        return self.checkpoint.generator

    def names(self, kind: str) -> list[str]:
        return [d.name for d in self.directions.values() if d.kind == kind]


class Studio:
    """Shared, thread-safe application state: where things live and the loaded models."""

    def __init__(self, checkpoints_root: str | Path = CHECKPOINTS, runs_root: str | Path = RUNS,
                 outputs_root: str | Path = OUTPUTS, device: str = "cpu", max_models: int = 3,
                 default_checkpoint: str = DEFAULT_CHECKPOINT) -> None:
        self.checkpoints_root = Path(checkpoints_root)
        self.runs_root = Path(runs_root)
        self.outputs_root = Path(outputs_root)
        self.device = torch.device(device)
        self.max_models = max_models
        self.default_checkpoint = default_checkpoint
        recover_checkpoints(self.checkpoints_root)  # an export killed half-way
        self.runs = RunManager(self.runs_root)
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._reconstructions: OrderedDict[tuple, np.ndarray] = OrderedDict()  # see edit_difference
        self._lock = threading.Lock()
        self._outputs_written = 0

    # ---- checkpoints -------------------------------------------------------------------------
    def list_checkpoints(self) -> list[str]:
        """Names of shipped checkpoints, then of runs that have a checkpoint (newest runs last)."""
        names = [p.name for p in list_checkpoints(self.checkpoints_root)]
        if self.runs_root.is_dir():
            runs = sorted((p for p in self.runs_root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
            names += [RUN_PREFIX + p.name for p in runs if RunDir(p).latest_checkpoint() is not None]
        return names

    def checkpoint_path(self, name: str) -> Path:
        """The folder for a listed name; anything else (paths, '..', unknown names) is refused."""
        run = name[len(RUN_PREFIX):] if isinstance(name, str) and name.startswith(RUN_PREFIX) else None
        simple = run if run is not None else name
        path = None
        if isinstance(simple, str) and CHECKPOINT_NAME.match(simple):  # no separators: cannot leave its folder
            if run is not None:
                path = RunDir(self.runs_root / run).latest_checkpoint()
            elif self.checkpoints_root / name in list_checkpoints(self.checkpoints_root):
                path = self.checkpoints_root / name
        if path is None:
            raise CheckpointError(f"no checkpoint named {name!r}; choose one of {self.list_checkpoints()}")
        return path

    def model(self, name: str) -> LoadedModel:
        """Load (once) a checkpoint by name, with its directions (principal ones computed if missing)."""
        path = self.checkpoint_path(name)
        key = f"{name}@{path}"
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            checkpoint = load_generator(path, self.device)
            directions = load_directions(path)
            if not any(d.kind == "pca" for d in directions):
                directions = (pca_directions(checkpoint.generator) + self._inherited(checkpoint)
                              + directions)
                try:
                    save_directions(path, directions, {"checkpoint_id": checkpoint.id})
                except OSError:
                    pass  # read-only checkpoint folder: keep them in memory only
            loaded = LoadedModel(name, checkpoint, {d.name: d for d in directions})
            self._models[key] = loaded
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return loaded

    def _inherited(self, checkpoint: Checkpoint) -> list[Direction]:
        """For a model fine-tuned from another (train.init_from), the parent's labelled directions that still
        move their attribute on it; none when the parent or the attribute classifier is not here."""
        parent = fine_tuned_from(checkpoint.config)
        attributes = self.checkpoints_root / ATTRIBUTES
        if parent is None or not (parent / DIRECTIONS_META).is_file() or not attributes.is_dir():
            return []
        classifier = load_classifier(attributes, "a")
        return inherited_directions(checkpoint.generator, load_directions(parent), classifier, parent.name)

    def reload_directions(self, name: str) -> LoadedModel:
        loaded = self.model(name)
        loaded.directions = {d.name: d for d in load_directions(loaded.checkpoint.path)}
        return loaded

    # ---- explore -----------------------------------------------------------------------------
    def render_png(self, recipe: Recipe) -> tuple[bytes, int, Recipe]:
        """The recipe's image as PNG bytes with the recipe inside, its resolution, and the stamped recipe."""
        image, recipe = self.render(recipe)
        return png_with_recipe(image, recipe), image.shape[0], recipe

    def render(self, recipe: Recipe) -> tuple[np.ndarray, Recipe]:
        """The recipe's image (R, R, 3) uint8 (enlarged by its upscaler, if any) and the recipe stamped with the
        checkpoint's and the upscaler's ids."""
        loaded = self.model(recipe.checkpoint)
        recipe = replace(recipe, checkpoint_id=loaded.checkpoint.id)
        return self.enlarge(render(loaded.generator, loaded.directions, recipe), recipe)

    def enlarge(self, image: np.ndarray, recipe: Recipe) -> tuple[np.ndarray, Recipe]:
        """A generated image through the recipe's upscaler (unchanged without one); the recipe stamped."""
        if not recipe.upscaler:
            return image, replace(recipe, upscaler_id="")
        upscaler = self.upscaler(recipe.upscaler)
        return upscaler.enlarge_array(image, recipe.detail), replace(recipe, upscaler_id=upscaler.id)

    def upscaler(self, name: str) -> FaceUpscaler:
        """An upscaler checkpoint of the checkpoints folder, by name (loaded once)."""
        folders = list_checkpoints(self.checkpoints_root, UPSCALER_FILE)
        if not (isinstance(name, str) and CHECKPOINT_NAME.match(name) and self.checkpoints_root / name in folders):
            raise CheckpointError(f"no upscaler named {name!r}; available: {[p.name for p in folders] or 'none'}")
        return load_upscaler(self.checkpoints_root / name)

    def upscaler_for(self, checkpoint: str) -> str:
        """The upscaler a generator checkpoint names in its config.json ("upscaler") or, for a model fine-tuned
        from another, the one its parent names, if it is installed; else ""."""
        name = named_upscaler(self.model(checkpoint).checkpoint.config)
        return name if name and (self.checkpoints_root / name / UPSCALER_FILE).is_file() else ""

    def upscale_photo(self, photo: Image.Image, scale: int = 2, detail: float = DEFAULT_DETAIL,
                      anyway: bool = False) -> tuple[Path, str]:
        """A photo enlarged 2x or 4x by the face upscaler, written as a PNG; returns (path, note). A photo without
        a face is refused unless ``anyway``."""
        if not anyway and not self.shows_a_face(photo):
            raise ImageError(NO_FACE_UPSCALE_ADVICE)
        image, note = upscale_photo(photo, self.upscaler(UPSCALER), int(scale), float(detail))
        return self.save_image(image), note

    def lanczos_like(self, photo: Image.Image, result: Path) -> Path:
        """The photo enlarged to the size of ``result`` with Lanczos (the "before" of a comparison), as a PNG."""
        size = Image.open(result).size
        return self.save_image(photo.resize(size, Image.Resampling.LANCZOS))

    def display(self, image: np.ndarray, size: int = UPSCALED_SIZE) -> np.ndarray:
        """An image resized with Lanczos for showing it (not for downloads)."""
        return upscale(image, size)

    def staging_dir(self) -> Path:
        """A fresh folder for a dataset preview of uploads (they are copied into the run on Start)."""
        path = self.output_path("")
        path.mkdir()
        return path

    def output_path(self, suffix: str) -> Path:
        """A new file name in the outputs folder (pruned to the newest MAX_OUTPUT_FILES entries)."""
        self.outputs_root.mkdir(parents=True, exist_ok=True)
        self._outputs_written += 1
        if self._outputs_written % 100 == 0:
            entries = sorted(self.outputs_root.iterdir(), key=lambda p: p.stat().st_mtime)
            for old in entries[:-MAX_OUTPUT_FILES]:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        return self.outputs_root / f"{uuid.uuid4().hex[:12]}{suffix}"

    def save_recipe_png(self, image: np.ndarray, recipe: Recipe) -> Path:
        path = self.output_path(".png")
        path.write_bytes(png_with_recipe(image, recipe))
        return path

    def export_recipe(self, recipe: Recipe) -> tuple[Path, Recipe]:
        """Render a recipe into a PNG (recipe embedded) in the outputs folder; returns it and the stamped recipe."""
        image, recipe = self.render(recipe)
        return self.save_recipe_png(image, recipe), recipe

    def read_recipe(self, data: bytes) -> Recipe:
        """A recipe from a dropped PNG, checked against the checkpoints this app has."""
        recipe = recipe_from_png(data)
        if recipe.checkpoint not in self.list_checkpoints():
            raise RecipeError(f"this PNG was made with checkpoint {recipe.checkpoint!r}, which is not available "
                              f"here (available: {', '.join(self.list_checkpoints())})")
        loaded = self.model(recipe.checkpoint)
        if recipe.checkpoint_id and recipe.checkpoint_id != loaded.checkpoint.id:
            raise RecipeError(f"checkpoint {recipe.checkpoint!r} has changed since this PNG was made "
                              f"(weights {loaded.checkpoint.id}, PNG {recipe.checkpoint_id}); it would not reproduce")
        if recipe.upscaler and recipe.upscaler_id and self.upscaler(recipe.upscaler).id != recipe.upscaler_id:
            raise RecipeError(f"upscaler {recipe.upscaler!r} has changed since this PNG was made; it would not "
                              "reproduce (untick 128 px to see the face the generator drew)")
        return recipe

    def variations(self, recipe: Recipe, strength: float = 1.0, seed: int = 0) -> list[tuple[np.ndarray, Recipe]]:
        loaded = self.model(recipe.checkpoint)
        recipes = variation_recipes(recipe, loaded.names("pca"), 16, strength, seed)
        return [self.render(r) for r in recipes]

    def interpolation(self, recipe_a: Recipe, recipe_b: Recipe, num_frames: int = 24, loop: bool = True,
                      fps: int = 12, upscale: int = 256) -> tuple[Path, Path]:
        """An interpolation from recipe_a to recipe_b written as (GIF, MP4)."""
        if recipe_a.checkpoint != recipe_b.checkpoint:
            raise RecipeError("both ends of an interpolation must use the same checkpoint")
        if not 2 <= num_frames <= 240:
            raise RecipeError("frames must be between 2 and 240")
        loaded = self.model(recipe_a.checkpoint)
        ws_a = recipe_ws(loaded.generator, loaded.directions, recipe_a)
        ws_b = recipe_ws(loaded.generator, loaded.directions, recipe_b)
        frames = [self.display(self.enlarge(f, recipe_a)[0], upscale)
                  for f in interpolate(loaded.generator, ws_a, ws_b, num_frames, loop)]
        gif, mp4 = self.output_path(".gif"), self.output_path(".mp4")
        save_animation(frames, gif, mp4, fps)
        return gif, mp4

    # ---- your own face --------------------------------------------------------------------------
    def find_faces(self, photo: Image.Image, checkpoint: str) -> list[AlignedFace]:
        """The faces in a photo, largest first, each cropped like ``checkpoint``'s training faces."""
        resolution = self.model(checkpoint).checkpoint.model.resolution
        faces = find_faces(photo, min_face=MIN_FACE, folder=self.checkpoints_root / MTCNN)
        if not faces:
            raise ImageError("no face found in this photo: use a photo where a face is clearly visible, at least "
                             f"{MIN_FACE} px wide, or a crop of the face itself with 'the photo is a face crop'")
        return [align(photo, face, resolution) for face in faces]

    def face_crop(self, photo: Image.Image, checkpoint: str) -> AlignedFace:
        """A photo that already is a face crop like the training faces (no detection), at the model's size."""
        resolution = self.model(checkpoint).checkpoint.model.resolution
        side = min(photo.size)
        left, top = (photo.width - side) // 2, (photo.height - side) // 2
        scale = resolution / side
        transform = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float32)
        square = photo.convert("RGB").crop((left, top, left + side, top + side))
        return AlignedFace(square.resize((resolution, resolution), Image.Resampling.LANCZOS), transform, None)

    def photo_faces(self, photo: Image.Image, checkpoint: str, aligned: bool = False) -> list[AlignedFace]:
        """The faces of a photo, largest first, or the photo itself when it already is an ``aligned`` face crop."""
        return [self.face_crop(photo, checkpoint)] if aligned else self.find_faces(photo, checkpoint)

    def pick_face(self, photo: Image.Image, checkpoint: str, index: int = 0,
                  aligned: bool = False) -> tuple[AlignedFace, int]:
        """Face ``index`` (0 = the largest) of :meth:`photo_faces`, and how many faces there are."""
        faces = self.photo_faces(photo, checkpoint, aligned)
        if not 0 <= index < len(faces):
            raise ImageError(f"face {index}: the photo has {len(faces)} face(s) (0 is the largest)")
        return faces[index], len(faces)

    def invert_face(self, face: AlignedFace, checkpoint: str, steps: int = 100):
        """Finds the face in ``checkpoint``'s latent space; yields (step, image (R, R, 3), recipe) as it converges,
        the recipe carrying the projected latent (psi 1: the face itself, not pulled to the average)."""
        if not 0 <= steps <= 2000:
            raise RecipeError(f"steps must be between 0 and 2000, got {steps}")
        loaded = self.model(checkpoint)
        vgg = load_vgg16(self.device, self.checkpoints_root / VGG16)
        target = np.asarray(face.image.convert("RGB"))
        encoder, start = load_encoder(loaded.checkpoint.path), None
        upscaler = self.upscaler_for(checkpoint)
        if encoder is not None:
            start = encode_face(encoder.to(self.device), target, loaded.generator.num_ws)
        for snapshot in invert(loaded.generator, vgg, target, steps=int(steps), start=start):
            recipe = Recipe(checkpoint=checkpoint, checkpoint_id=loaded.checkpoint.id, truncation_psi=1.0,
                            projected=encode_ws(snapshot.ws), upscaler=upscaler,
                            photo_face=[round(float(v), 6) for v in face.transform.flatten()])
            yield snapshot.step, *self.enlarge(snapshot.image, recipe)

    @torch.no_grad()
    def reconstruction_distance(self, face: AlignedFace, recipe: Recipe) -> float:
        """How unlike the aligned face the generator's reconstruction is (the inversion's own pixel + VGG16
        distance, at the generator's size): the higher, the less an edit of it can be trusted."""
        loaded = self.model(recipe.checkpoint)
        plain = replace(recipe, directions={}, latent={}, mix_seed=None, truncation_psi=1.0)
        image = to_float(torch.from_numpy(render(loaded.generator, loaded.directions, plain)).permute(2, 0, 1)[None])
        target = to_float(torch.from_numpy(np.array(face.image.convert("RGB"))).permute(2, 0, 1)[None])
        return float(Likeness(load_vgg16(self.device, self.checkpoints_root / VGG16), target)(image)[0])

    def reconstruction_note(self, face: AlignedFace, recipe: Recipe) -> str:
        """A warning when the reconstruction is unlike the face (worse than POOR_RECONSTRUCTION), else ""."""
        distance = self.reconstruction_distance(face, recipe)
        if distance <= POOR_RECONSTRUCTION:
            return ""
        return (f"The model reconstructs this face poorly (distance {distance:.2f}; nine in ten held-out faces "
                f"measure below {POOR_RECONSTRUCTION:.2f}): edits may not look like this person. More refinement "
                "steps, a frontal, well-lit photo or a larger face help.")

    def has_encoder(self, checkpoint: str) -> bool:
        """Whether ``checkpoint`` has an encoder (fast, close first guess) or inverts from the best of a few seeds."""
        return (self.checkpoint_path(checkpoint) / ENCODER_META).is_file()

    def paste_face(self, photo: Image.Image, face: AlignedFace, recipe: Recipe) -> Path:
        """The photo with the generator's (edited) face in place of the user's, blended in; written as a PNG."""
        image, _ = self.render(recipe)
        return self.save_image(paste_back(photo, face, Image.fromarray(image)))

    # ---- your own photo, edited at its resolution ------------------------------------------------
    def edit_difference(self, recipe: Recipe) -> tuple[np.ndarray, np.ndarray, Recipe]:
        """What the recipe's edits change in its projected face, G(w') - G(w) as (R, R, 3) float32 (R the rendered
        size, 2x with an upscaler), with G(w') and the stamped recipe. G(w) is cached: the sliders do not move it."""
        if not recipe.projected:
            raise RecipeError("only a face reconstructed from a photo can be carried onto the photo")
        edited, recipe = self.render(recipe)
        plain = replace(recipe, directions={}, latent={}, mix_seed=None, truncation_psi=1.0)
        key = (plain.checkpoint, plain.checkpoint_id, plain.projected, plain.upscaler, plain.detail)
        with self._lock:
            reconstruction = self._reconstructions.get(key)
        if reconstruction is None:
            reconstruction, _ = self.render(plain)
            with self._lock:
                self._reconstructions[key] = reconstruction
                while len(self._reconstructions) > 8:
                    self._reconstructions.popitem(last=False)
        return edited.astype(np.float32) - reconstruction, edited, recipe

    def edited_photo(self, photo: Image.Image, recipe: Recipe) -> Image.Image:
        """The whole photo, at its size, with the recipe's edit carried onto the face it records."""
        transform = check_transform(recipe.photo_face)
        resolution = self.model(recipe.checkpoint).checkpoint.model.resolution
        return carry_edit(photo, transform, resolution, self.edit_difference(recipe)[0])

    def edit_photo(self, photo: Image.Image, recipe: Recipe) -> Path:
        """:meth:`edited_photo` written as a PNG in the outputs folder."""
        return self.save_image(self.edited_photo(photo, recipe))

    def face_view(self, photo: Image.Image, recipe: Recipe) -> Path:
        """The user's face from the photo, aligned like the generator's, at VIEW_SIDE px (a PNG to edit live)."""
        resolution = self.model(recipe.checkpoint).checkpoint.model.resolution
        return self.save_image(Image.fromarray(aligned_view(photo, check_transform(recipe.photo_face), resolution)))

    def edited_face(self, view: str | Path, recipe: Recipe) -> tuple[np.ndarray, np.ndarray, Recipe]:
        """A :meth:`face_view` with the recipe's edit on it, (VIEW_SIDE, VIEW_SIDE, 3) uint8; the generator's own
        image of the recipe beside it; the stamped recipe."""
        difference, generated, recipe = self.edit_difference(recipe)
        return edited_view(np.asarray(decode_image(view)), difference), generated, recipe

    def face_notes(self, face: AlignedFace) -> list[str]:
        """Why an edit may not carry well onto this face (too small, turned away), before reconstructing it."""
        return edit_warnings(face.face, face.transform, face.image.width)

    # ---- repair --------------------------------------------------------------------------------
    @staticmethod
    def repair_methods() -> dict[str, str]:
        """Repair method name -> what it is good at, in plain words."""
        return dict(METHODS)

    def repair(self, image: Image.Image, mask: Image.Image, method: str, feather: float) -> tuple[Path, str]:
        """Repair and write the result as a PNG; returns (path, note)."""
        model = load_inpainter(self.checkpoints_root / INPAINTER) if method == "learned" else None
        result = repair(image, mask, method, feather, model)
        path = self.output_path(".png")
        result.image.save(path)
        note = result.note
        if method == "learned" and not self.shows_a_face(image):
            note = f"{note} {NO_FACE_REPAIR_ADVICE}".strip()
        return path, note

    def shows_a_face(self, photo: Image.Image) -> bool:
        """Whether a face at least a tenth of the photo's short side is in it (what the face networks are for)."""
        return shows_a_face(photo, self.checkpoints_root / MTCNN)

    def damage_layer(self, image: Image.Image) -> tuple[Path, float]:
        """The detector's proposed mask as a semi-transparent red editor layer; returns (path, coverage)."""
        found = self.detect_damage(image)
        mask = np.asarray(found) >= 128
        layer = np.zeros((*mask.shape, 4), np.uint8)
        layer[mask] = (255, 0, 85, 140)
        path = self.output_path(".png")
        Image.fromarray(layer, "RGBA").save(path)
        return path, damaged_share(found)

    def detect_damage(self, image: Image.Image) -> Image.Image:
        """The detector's proposed damage mask (L, white = damaged) at the photo's size."""
        return detect_damage(image, load_segmenter(self.checkpoints_root / SEGMENTER))

    def save_image(self, image: Image.Image) -> Path:
        path = self.output_path(".png")
        image.save(path)
        return path

    # ---- uploads -------------------------------------------------------------------------------
    @staticmethod
    def open_photo(source: str | Path | bytes) -> Image.Image:
        """An uploaded photo as upright 8-bit RGB, decoded with every safety check (see gan_art.images)."""
        return decode_image(source)

    @staticmethod
    def open_mask(source: str | Path | bytes, size: tuple[int, int]) -> Image.Image:
        """An uploaded mask (white = change) or transparent PNG (transparent = change) at ``size``."""
        return mask_from_upload(source, size)

    @staticmethod
    def painted_mask(layers: list[str | Path], size: tuple[int, int]) -> Image.Image | None:
        """The union of an image editor's painted layers (PNG files) as a mask of ``size``; None if unpainted."""
        return mask_from_layers([open_layer(path) for path in layers], size)

    # ---- style ---------------------------------------------------------------------------------
    @staticmethod
    def style_names() -> list[str]:
        """The built-in paintings, by name."""
        return list(builtin_styles())

    def style_image(self, choice: str | None, upload: str | None) -> Image.Image:
        """An uploaded style image (decoded safely) or one of the built-in paintings by name."""
        if upload:
            return decode_image(upload)
        paintings = builtin_styles()
        if choice not in paintings:
            raise StyleError(f"choose a painting ({', '.join(paintings)}) or upload a style image")
        return decode_image(paintings[choice])

    def stylize(self, content: Image.Image, styles: list[tuple[Image.Image, float]], **settings) -> Path:
        """Fast mode; writes and returns a PNG in the outputs folder."""
        path = self.output_path(".png")
        stylizer = fast_stylizer(self.checkpoints_root / STYLE_MAGENTA)
        stylize_fast(content, styles, stylizer=stylizer, **settings).save(path)
        return path

    def stylize_detailed(self, content: Image.Image, style: Image.Image, **settings):
        """Detailed mode: yields (iteration, image) as the optimisation improves the image."""
        yield from detailed_steps(content, style, device=str(self.device), vgg_path=self.checkpoints_root / VGG16,
                                  **settings)

    def save_direction(self, name: str, recipe: Recipe) -> Direction:
        """Save the recipe's current slider combination as a new named direction of its checkpoint."""
        loaded = self.model(recipe.checkpoint)
        if name.strip() in loaded.directions and loaded.directions[name.strip()].kind != "custom":
            raise DirectionError(f"{name!r} is a built-in direction name; choose another")
        vector, description = combine_directions(loaded.directions, recipe.directions)
        save_custom_direction(loaded.checkpoint.path, name, vector, description)
        return self.reload_directions(recipe.checkpoint).directions[name.strip()]

    # ---- train ---------------------------------------------------------------------------------
    BUILTIN_DATASET = "builtin"

    def train_defaults(self) -> TrainRequest:
        """The Train tab's starting settings for this machine."""
        return default_request(torch.cuda.is_available())

    def _train_data(self, dataset: str) -> tuple[str, str]:
        """(path, licence) of a dataset choice: "builtin" or a folder/zip path on this server."""
        if dataset == self.BUILTIN_DATASET:
            return str(BUILTIN_FACES.relative_to(REPO)), BUILTIN_LICENSE  # not this machine's folders
        if not (dataset or "").strip():
            raise RunError("type the path of a folder (or zip) of images on this server")
        return dataset.strip(), ""

    def parent_models(self) -> list[str]:
        """Checkpoints a run can start from (they keep the discriminator): shipped, promoted or runs'."""
        return [name for name in self.list_checkpoints() if (self.checkpoint_path(name) / STATE_FILE).is_file()]

    def parent_architecture(self, name: str) -> tuple[str, int]:
        """(arch, resolution) of a model runs can start from: a run from it trains at these."""
        model = read_config(self.checkpoint_path(name))["model"]
        return model["arch"], int(model["resolution"])

    def _parent(self, request: TrainRequest) -> Path | None:
        if not request.start_from:
            return None
        try:
            path = self.checkpoint_path(request.start_from)
        except CheckpointError:
            path = None
        if path is None or not (path / STATE_FILE).is_file():
            raise RunError(f"cannot start from {request.start_from!r}: it is not a model with its training state "
                           "(a shipped, promoted or run checkpoint); choose another or train from scratch")
        return path

    def estimate_training(self, request: TrainRequest) -> Estimate:
        """Expected images/s (and the precision) of ``request`` here; measured once per machine and model."""
        return self.runs.estimate(app_config(str(BUILTIN_FACES), request, parent=self._parent(request)))

    def start_training(self, request: TrainRequest, dataset: str = BUILTIN_DATASET,
                       files: list[str] | None = None, name: str = "") -> str:
        """Queue a run (it starts at once when no other run is active); returns its name.

        ``dataset`` is "builtin" or a folder/zip on this server; ``files`` (uploaded images or one zip)
        replace it. ``request.steps`` = 0 picks a run of about ``request.minutes`` on this machine."""
        data, license_ = ("", "") if files else self._train_data(dataset)
        if data and not Path(data).exists():
            raise DatasetError(f"dataset path {data} does not exist on the server")
        if request.steps <= 0:
            estimate = self.estimate_training(request)
            request = replace(request, steps=estimate.default_steps(request))
        parent = self._parent(request)
        cfg = app_config(data, request, license_, parent)
        stem = f"{Path(request.start_from).name}-tuned" if parent else f"{request.arch}{int(request.resolution)}"
        return self.runs.create(cfg, (name or "").strip() or self.runs.new_name(stem), files or None)

    def preview_dataset(self, dataset: str = BUILTIN_DATASET, files: list[str] | None = None,
                        resolution: int = 64) -> DatasetPreview:
        """Usable images, skipped files and thumbnails of a dataset choice (uploads are staged apart first)."""
        path = stage_files(files, self.staging_dir()) if files else self._train_data(dataset)[0]
        return preview_dataset(path, min(int(resolution), 64))

    def run_names(self) -> list[str]:
        return self.runs.names()

    def run_view(self, name: str) -> RunView:
        return self.runs.view(name)

    def control_run(self, name: str, command: str) -> None:
        """pause, resume or stop a run."""
        self.runs.control(name, command)

    def promote_run(self, name: str, new_name: str) -> Path:
        """Copy a run's newest checkpoint into the checkpoints folder, where Explore lists it."""
        return self.runs.promote(name, self.checkpoints_root, (new_name or "").strip())

    def start_queue(self) -> None:
        """Start the oldest queued run if none is active (runs queued before the app restarted)."""
        self.runs.schedule()

    def shutdown(self) -> list[str]:
        """Stop the training workers this app started, each at a checkpoint; returns their run names."""
        return self.runs.shutdown()
