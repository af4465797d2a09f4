"""The named API beside the UI: one endpoint per main action, a few named parameters, each documented
(``gradio_client.Client(url).view_api()`` shows the parameters and what they mean).

    from gradio_client import Client, handle_file
    client = Client("http://127.0.0.1:7860/")
    face, recipe = client.predict(seed=42, api_name="/generate")
    fixed, note = client.predict(image=handle_file("photo.jpg"), mask=handle_file("mask.png"), api_name="/repair")

Errors a caller can fix come back as ``gradio_client.exceptions.AppError`` carrying the message.
Not ``from __future__ import annotations``: gr.api reads the real type hints.
"""
import functools
from dataclasses import replace

import gradio as gr
from gradio import FileData
from gradio.context import get_blocks_context

from gan_art.studio import DEFAULT_DETAIL, Recipe, Studio, TrainRequest, damaged_share, default_batch_size
from gan_art.ui.feedback import error_message


def _path(file: FileData | dict) -> str:
    return file["path"] if isinstance(file, dict) else file.path


def _documented(fn):
    """``fn`` for gr.api: failures become gr.Error messages; the docstring's "Args:" lines become the parameter
    descriptions gradio_client's view_api() prints."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # the message only; internal errors are logged by error_message
            raise gr.Error(error_message(exc).removeprefix("⚠️ ")) from None

    return wrapped


def parameter_docs(fn) -> dict[str, str]:
    """name -> description from the "Args:" section of ``fn``'s docstring (continuation lines indented deeper)."""
    lines = (fn.__doc__ or "").split("Args:", 1)[1].splitlines()[1:] if "Args:" in (fn.__doc__ or "") else []
    docs, indent, name = {}, None, None
    for line in lines:
        if not line.strip():
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        if depth == indent and ":" in line:
            name, text = line.strip().split(":", 1)
            docs[name] = text.strip()
        elif name is not None:
            docs[name] += " " + line.strip()
    return docs


def _describe_parameters(dependency, fn) -> None:
    docs = parameter_docs(fn)
    block_fn = get_blocks_context().fns[dependency["id"]]
    for component, name in zip(block_fn.inputs, fn.__code__.co_varnames):
        if name in docs:
            component._api_info = {**component._api_info, "additional_description": docs[name]}


def add_api(studio: Studio) -> None:
    """Register the named endpoints (inside the app's gr.Blocks)."""

    def checkpoints() -> list[str]:
        """Names of the generator checkpoints this app can render: shipped ones, then finished training runs."""
        return studio.list_checkpoints()

    def generate(checkpoint: str = "faces", seed: int = 0, truncation_psi: float = 0.7, upscale: bool = True,
                 detail: float = DEFAULT_DETAIL) -> tuple[FileData, str]:
        """A face from a seed: the PNG (its recipe embedded) and the recipe as JSON.

        Args:
            checkpoint: a name from /checkpoints
            seed: 0 to 2**32 - 1; the same seed always gives the same image
            truncation_psi: 0 = the average face, 1 = full variety
            upscale: enlarge 2x with the checkpoint's upscaler (128 px faces), when it has one
            detail: upscaler detail, 0 = faithful (smooth) to 1 = detailed (invented skin and hair texture)
        """
        recipe = Recipe(checkpoint=checkpoint, seed=int(seed), truncation_psi=float(truncation_psi),
                        upscaler=studio.upscaler_for(checkpoint) if upscale else "", detail=float(detail))
        path, recipe = studio.export_recipe(recipe)
        return FileData(path=str(path)), recipe.to_json()

    def render(recipe: str, upscale: bool | None = None, detail: float | None = None,
               photo: FileData | None = None) -> tuple[FileData, str]:
        """The image of an Explore recipe (seed, truncation, slider values, style mixing, upscaler) and the recipe
        as stored; with ``photo``, that photo at its own size with the recipe's edit carried onto its face.

        Args:
            recipe: recipe JSON as Explore shows it, /generate returns it and every downloaded PNG embeds it,
                e.g. {"checkpoint": "faces", "seed": 3, "directions": {"age": 2.0}}
            upscale: override the recipe's upscaler: true = the checkpoint's (128 px faces), false = none
            detail: override the recipe's upscaler detail (0 = faithful to 1 = detailed)
            photo: the photo an /invert recipe came from: returns it with the edit (e.g. "directions": {"age": 2})
                applied to the face, every other pixel unchanged
        """
        parsed = Recipe.from_json(recipe)
        if upscale is not None:
            parsed = replace(parsed, upscaler=studio.upscaler_for(parsed.checkpoint) if upscale else "")
        if detail is not None:
            parsed = replace(parsed, detail=float(detail))
        if photo is not None:
            path = studio.edit_photo(studio.open_photo(_path(photo)), parsed)
            return FileData(path=str(path)), parsed.to_json()
        path, stamped = studio.export_recipe(parsed)
        return FileData(path=str(path)), stamped.to_json()

    def read_recipe(image: FileData) -> str:
        """The recipe JSON embedded in a PNG this app saved (checked against this app's checkpoints).

        Args:
            image: a PNG downloaded from Explore or returned by /generate or /render
        """
        return studio.read_recipe(open(_path(image), "rb").read()).to_json()

    def invert(image: FileData, checkpoint: str = "faces", face: int = 0, steps: int = 100,
               aligned: bool = False) -> tuple[FileData, str]:
        """Find a photo's face in a generator's latent space: the reconstruction (a PNG, its recipe embedded) and
        the recipe JSON, whose "projected" latent /render edits (add e.g. "directions": {"age": 2}).

        Args:
            image: a photo with a face
            checkpoint: a name from /checkpoints
            face: which face when the photo has several, 0 = the largest
            steps: refinement steps, about 6 s per 100 on 2 CPU cores; 0 = the first guess only
            aligned: the photo already is a face crop like the training faces (no face detection)
        """
        chosen, _ = studio.pick_face(studio.open_photo(_path(image)), checkpoint, int(face), bool(aligned))
        *_, (_, _, recipe) = studio.invert_face(chosen, checkpoint, int(steps))
        path, stamped = studio.export_recipe(recipe)
        return FileData(path=str(path)), stamped.to_json()

    def repair(image: FileData, mask: FileData | None = None, method: str = "learned",
               feather: float = 0.0) -> tuple[FileData, str]:
        """Repair a damaged photo: the repaired image (same size; pixels outside the mask unchanged) and a note.

        Args:
            image: the damaged photo
            mask: white = repair (or a transparent PNG: transparent = repair); omitted = detect the damage
            method: "learned" (our network: faces, large holes), "telea" or "ns" (OpenCV: thin scratches)
            feather: blend this many pixels inside the mask edge
        """
        photo = studio.open_photo(_path(image))
        hole = studio.open_mask(_path(mask), photo.size) if mask else studio.detect_damage(photo)
        path, note = studio.repair(photo, hole, method, float(feather))
        return FileData(path=str(path)), note

    def find_damage(image: FileData) -> tuple[FileData, float]:
        """The damage the detector finds: a mask PNG (white = damaged) and the fraction of the photo it covers.

        Args:
            image: the photo to examine
        """
        mask = studio.detect_damage(studio.open_photo(_path(image)))
        path = studio.save_image(mask)
        return FileData(path=str(path)), round(damaged_share(mask), 5)

    def stylize(image: FileData, style: str = "starry-night", style_image: FileData | None = None,
                strength: float = 1.0, size: int = 0, mode: str = "fast", iterations: int = 300) -> FileData:
        """Restyle a photo with a painting.

        Args:
            image: the photo
            style: a built-in painting: "starry-night", "great-wave" or "udnie"
            style_image: any image to take the style from instead of a built-in painting
            strength: fast mode: 0 = the photo, 1 = full style
            size: output long side in pixels; 0 = the photo's own (at most 2048 fast, 512 detailed)
            mode: "fast" (one network pass) or "detailed" (Gatys optimisation, minutes on a CPU)
            iterations: detailed mode's optimisation steps
        """
        content = studio.open_photo(_path(image))
        painting = studio.style_image(style, _path(style_image) if style_image else None)
        if mode == "detailed":
            *_, (_, result) = studio.stylize_detailed(content, painting, size=int(size) or None,
                                                      iterations=int(iterations))
            return FileData(path=str(studio.save_image(result)))
        path = studio.stylize(content, [(painting, 1.0)], strength=float(strength), size=int(size) or None)
        return FileData(path=str(path))

    def upscale(image: FileData, scale: int = 2, detail: float = DEFAULT_DETAIL, anyway: bool = False) -> tuple[
            FileData, str]:
        """Enlarge a face photo with the face upscaler: the PNG and a note (e.g. when a huge photo was shrunk first).

        Args:
            image: a face photo (or a photo with a face in it)
            scale: 2, or 4 (two passes)
            detail: 0 = faithful (smooth) to 1 = detailed (invented skin and hair texture)
            anyway: enlarge even when no face is found (the network learned faces only)
        """
        path, note = studio.upscale_photo(studio.open_photo(_path(image)), int(scale), float(detail), bool(anyway))
        return FileData(path=str(path)), note

    def train_start(dataset: str = "builtin", model: str = "stylegan", resolution: int = 32, batch_size: int = 0,
                    steps: int = 0, seed: int = 0, precision: str = "auto", name: str = "") -> str:
        """Start a training run (queued if another run is active) and return its name.

        Args:
            dataset: "builtin" (2,000 UTKFace faces that ship with the app) or a folder or zip of images on the server
            model: a new "stylegan" (modern default) or "dcgan" (classic 2016 recipe), or the name of a trained model
                to fine-tune with the transfer recipe, e.g. "faces" (its architecture and resolution then apply)
            resolution: image side in pixels (16, 32, 64 or 128) of a new model
            batch_size: images per step; 0 = 32 for a new model, the transfer recipe's 16 for a fine-tune
            steps: optimiser steps; 0 = a run of about 12 minutes on this machine (a fine-tune: at most 13,000 images)
            seed: seeds the weights, the data order and the sample-grid latents
            precision: "auto" (fastest measured on this machine), "fp32", "bf16" or "fp16"
            name: run name (letters, digits, - and _); empty = generated
        """
        new = model in ("stylegan", "dcgan")
        start_from = "" if new else model
        request = TrainRequest(arch=model if new else "stylegan", resolution=int(resolution),
                               batch_size=int(batch_size) or default_batch_size(start_from), steps=int(steps),
                               seed=int(seed), precision=precision, start_from=start_from)
        return studio.start_training(request, dataset, None, name)

    def train_status(run: str) -> dict:
        """A run's state, step, steps, images_per_s, eta_s, precision (and why), message, sample_grids (how many
        fixed-latent grids exist) and checkpoint (the newest, or empty).

        Args:
            run: run name, as /train_start returned it
        """
        view = studio.run_view(run)
        return {**{k: v for k, v in view.status.items() if k != "log_tail"}, "sample_grids": len(view.grids),
                "checkpoint": view.checkpoint.name if view.checkpoint else ""}

    def train_control(run: str, command: str = "stop") -> str:
        """Pause, resume or stop a run (a stop writes a checkpoint first); returns its state after the request.

        Args:
            run: run name
            command: "pause", "resume" or "stop"
        """
        studio.control_run(run, command)
        return studio.run_view(run).status.get("state", "")

    # (concurrency group, how many at once); the UI's own events share these groups
    limits = {"train_start": ("train-api", None), "train_status": ("train-api", None),
              "train_control": ("train-api", None), "stylize": ("style", 2), "repair": ("repair", 2),
              "find_damage": ("repair", 2), "invert": ("invert", 1), "upscale": ("repair", 2)}
    for fn in (checkpoints, generate, render, read_recipe, invert, repair, find_damage, upscale, stylize,
               train_start, train_status, train_control):
        group, at_once = limits.get(fn.__name__, ("render", 2))
        dependency = gr.api(_documented(fn), api_name=fn.__name__, concurrency_id=group, concurrency_limit=at_once)
        _describe_parameters(dependency, fn)
