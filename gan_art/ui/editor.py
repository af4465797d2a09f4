"""The image editor shared by the Repair and Style tabs: paint a mask over a photo."""
from __future__ import annotations

import tempfile

import gradio as gr
from PIL import Image

from gan_art.data import decode_image
from gan_art.masks import mask_from_layers


def _friendly(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    if "DecompressionBomb" in type(exc).__name__ or "exceeds limit" in text:
        return "the image is too large to decode safely; downscale it first"
    if "cannot identify image file" in text:
        return "it is not an image this app can read (PNG, JPEG, WebP, GIF, BMP, TIFF)"
    return f"{type(exc).__name__}: {text[:200]}"


class SafeImage(gr.Image):
    """gr.Image whose unreadable uploads become a clear message instead of a generic error."""

    is_template = True  # use gr.Image's front end

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception as exc:
            raise gr.Error(f"This file cannot be used: {_friendly(exc)}") from None


class SafeImageEditor(gr.ImageEditor):
    """gr.ImageEditor that hands over the uploaded files untouched, as paths.

    Gradio's own conversion re-encodes every layer (and fails on, e.g., CMYK JPEGs); our handlers
    decode the files themselves with gan_art.data's checks and keep the layers' alpha for masks.
    """

    is_template = True

    def convert_and_format_image(self, file, flatten_on_white: bool = False) -> str | None:
        if file is None:
            return None
        if isinstance(file, (bytes, bytearray, memoryview)):  # layers the browser sent as blobs
            handle = tempfile.NamedTemporaryFile(dir=self.GRADIO_CACHE, suffix=".png", delete=False)
            with handle:
                handle.write(bytes(file))
            return handle.name
        return file.path


def mask_editor(label: str, color: str = "#ff0055", elem_id: str | None = None) -> gr.ImageEditor:
    """Upload a photo, paint with a semi-transparent brush (size, eraser, undo are built in)."""
    return SafeImageEditor(label=label, type="filepath", format="png", height=480, elem_id=elem_id,
                          brush=gr.Brush(colors=[(color, 0.55)], color_mode="fixed", default_size=24),
                          eraser=gr.Eraser(default_size=24), layers=False, transforms=(),
                          sources=("upload", "clipboard"))


def read_editor(value: dict | None) -> tuple[Image.Image, Image.Image | None]:
    """(photo, painted mask or None) from an editor value; the photo is decoded with our safety checks."""
    if not value or not value.get("background"):
        raise ValueError("upload a photo first")
    photo = decode_image(value["background"])
    layers = [decode_image_rgba(p) for p in value.get("layers") or [] if p]
    return photo, mask_from_layers(layers, photo.size)


def decode_image_rgba(path: str) -> Image.Image:
    # painted layers are transparent PNGs that Gradio wrote itself; keep their alpha
    image = Image.open(path)
    image.load()
    return image.convert("RGBA")


def editor_with(image_path: str) -> dict:
    """An editor value showing ``image_path`` with nothing painted (to send an image to a tab)."""
    return {"background": image_path, "layers": [], "composite": image_path}

