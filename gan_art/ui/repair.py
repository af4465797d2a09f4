"""Repair tab: mark (or let the app find) the damage in a photo and fill it."""
from __future__ import annotations

import gradio as gr

from gan_art.errors import RepairError
from gan_art.studio import Studio
from gan_art.ui.editor import SafeImage, editor_with, mask_editor, read_editor
from gan_art.ui.feedback import error_message

PRIVATE = {"api_visibility": "private"}  # UI wiring: the named API (gan_art.ui.api) is the documented way in


class RepairTab:
    """Widgets other tabs use: ``result`` (to send on) and ``editor`` (to receive images)."""

    def __init__(self, studio: Studio) -> None:
        with gr.Tab("Repair", id="repair"):
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    self.editor = mask_editor("Damaged photo · paint over the damage (brush, eraser, undo)",
                                              elem_id="repair-editor")
                    detect = gr.Button("🔍 Find the damage automatically")
                    mask_upload = SafeImage(label="…or upload a mask (white = repair) or a transparent PNG",
                                           type="filepath", height=140, sources=("upload", "clipboard"))
                    methods = studio.repair_methods()
                    method = gr.Radio(list(methods), value="learned", label="Method")
                    gr.Markdown(" · ".join(f"**{name}**: {text}" for name, text in methods.items()))
                    feather = gr.Slider(0, 20, value=0, step=1, label="Feather (px, blends inside the mask edge)")
                    run = gr.Button("🩹 Repair", variant="primary")
                with gr.Column(scale=1):
                    compare = gr.ImageSlider(label="Before / after (drag the divider)", type="filepath",
                                             height=480, elem_id="repair-compare")
                    self.result = gr.Image(label="Result", type="filepath", format="png", interactive=False,
                                           height=240, buttons=["download", "fullscreen"], elem_id="repair-result")
                    with gr.Row():
                        again = gr.Button("↻ Repair again (edit the result)")
                        self.send_to_style = gr.Button("🎨 Send to Style")
                    message = gr.Markdown()

        def propose_damage_mask(editor):
            try:
                photo, _ = read_editor(editor)
                layer, coverage = studio.damage_layer(photo)
            except Exception as exc:  # every failure becomes a message (internal ones are logged)
                return gr.skip(), error_message(exc)
            value = {"background": editor["background"], "layers": [str(layer)], "composite": None}
            return value, (f"Marked {100 * coverage:.1f}% of the photo as damaged. Check the red areas, paint or "
                           "erase where needed, then Repair.")

        detect.click(propose_damage_mask, self.editor, [self.editor, message], **PRIVATE)

        def do_repair(editor, uploaded_mask, method_name, feather_px, progress=gr.Progress()):
            try:
                photo, painted = read_editor(editor)
                mask = studio.open_mask(uploaded_mask, photo.size) if uploaded_mask else painted
                if mask is None:
                    raise RepairError("mark the damage first: paint over it, upload a mask, or use "
                                      "'Find the damage automatically'")
                progress(0.2, desc=f"repairing with {method_name}")
                path, note = studio.repair(photo, mask, method_name, float(feather_px))
            except Exception as exc:
                return gr.skip(), gr.skip(), error_message(exc)
            before = studio.save_image(photo)
            return (str(before), str(path)), str(path), f"Repaired with **{method_name}**. {note}".strip()

        run.click(do_repair, [self.editor, mask_upload, method, feather], [compare, self.result, message],
                  api_name="repair_editor", api_visibility="undocumented",  # tests drive the editor's handler
                  concurrency_id="repair", concurrency_limit=1)
        again.click(lambda path: editor_with(path) if path else gr.skip(), self.result, self.editor, **PRIVATE)
