"""The image editor shared by the Repair and Style tabs: paint a mask over a photo."""
from __future__ import annotations

import gradio as gr
from PIL import Image

from gan_art.data import decode_image
from gan_art.masks import mask_from_layers


def mask_editor(label: str, color: str = "#ff0055", elem_id: str | None = None) -> gr.ImageEditor:
    """Upload a photo, paint with a semi-transparent brush (size, eraser, undo are built in)."""
    return gr.ImageEditor(label=label, type="filepath", format="png", height=480, elem_id=elem_id,
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

