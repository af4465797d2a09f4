"""Upscale tab: enlarge a face photo 2x or 4x with the face upscaler, at a chosen detail."""
from __future__ import annotations

import gradio as gr

from gan_art.errors import ImageError
from gan_art.studio import DEFAULT_DETAIL, Studio
from gan_art.ui.editor import SafeImage
from gan_art.ui.feedback import error_message

PRIVATE = {"api_visibility": "private"}  # UI wiring: the named API (gan_art.ui.api) is the documented way in


class UpscaleTab:
    """``photo`` receives images from other tabs."""

    def __init__(self, studio: Studio) -> None:
        with gr.Tab("Upscale", id="upscale"):
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    self.photo = SafeImage(label="A face photo", type="filepath", height=320,
                                           sources=("upload", "clipboard"), elem_id="upscale-photo")
                    scale = gr.Radio([2, 4], value=2, label="Enlarge", info="4 = two passes of the 2x network")
                    detail = gr.Slider(0.0, 1.0, value=DEFAULT_DETAIL, step=0.05, label="Detail",
                                       info="0 = faithful (smooth) · 1 = detailed (invented skin and hair texture)")
                    anyway = gr.Checkbox(False, label="Upscale anyway when no face is found",
                                         info="the network learned faces only")
                    run = gr.Button("🔍 Upscale", variant="primary")
                with gr.Column(scale=1):
                    compare = gr.ImageSlider(label="Before (Lanczos) / after (drag the divider)", type="filepath",
                                             height=480, elem_id="upscale-compare")
                    result = gr.Image(label="Result", type="filepath", format="png", interactive=False, height=240,
                                      buttons=["download", "fullscreen"], elem_id="upscale-result")
                    message = gr.Markdown()

        def do_upscale(path, factor, level, insist, progress=gr.Progress()):
            try:
                if not path:
                    raise ImageError("upload a face photo first")
                photo = studio.open_photo(path)
                progress(0.2, desc=f"enlarging {int(factor)}x")
                out, note = studio.upscale_photo(photo, int(factor), float(level), bool(insist))
                before = studio.lanczos_like(photo, out)
            except Exception as exc:  # every failure becomes a message (internal ones are logged)
                return gr.skip(), gr.skip(), error_message(exc)
            return (str(before), str(out)), str(out), f"Enlarged {int(factor)}x at detail {float(level):g}. {note}"

        run.click(do_upscale, [self.photo, scale, detail, anyway], [compare, result, message], concurrency_id="repair",
                  concurrency_limit=1, **PRIVATE)
