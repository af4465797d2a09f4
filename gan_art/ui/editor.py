"""The image editor shared by the Repair and Style tabs: paint a mask over a photo."""
from __future__ import annotations

import tempfile

import gradio as gr

from gan_art.errors import ImageError
from gan_art.studio import Studio


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


def read_editor(value: dict | None) -> tuple:
    """(photo, painted mask or None) as PIL images from an editor value; the photo is decoded with our checks."""
    if not value or not value.get("background"):
        raise ImageError("upload a photo first")
    photo = Studio.open_photo(value["background"])
    return photo, Studio.painted_mask([p for p in value.get("layers") or [] if p], photo.size)


def editor_with(image_path: str) -> dict:
    """An editor value showing ``image_path`` with nothing painted (to send an image to a tab)."""
    return {"background": image_path, "layers": [], "composite": image_path}

