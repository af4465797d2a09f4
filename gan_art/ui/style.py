"""Style tab: restyle a photo with any painting, fast (one network pass) or detailed (Gatys, streaming)."""
from __future__ import annotations

import gradio as gr

from gan_art.studio import Studio
from gan_art.ui.editor import SafeImage, mask_editor, read_editor
from gan_art.ui.feedback import error_message


class StyleTab:
    """Widgets other tabs can send images to (``content``) and select (``tab``)."""

    def __init__(self, studio: Studio) -> None:
        paintings = studio.style_names()
        with gr.Tab("Style", id="style") as self.tab:
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    self.content = mask_editor("Photo · paint over a region to restyle only that region",
                                               color="#2266ff", elem_id="style-content")
                    with gr.Row():
                        style = gr.Radio(paintings, value=paintings[0] if paintings else None, label="Style")
                        style_upload = SafeImage(label="…or your own style image", type="filepath", height=140,
                                                sources=("upload", "clipboard"))
                    with gr.Accordion("Mix with a second style", open=False):
                        second = gr.Radio(["none", *paintings], value="none", label="Second style")
                        mix = gr.Slider(0, 1, value=0.5, step=0.05, label="Weight of the second style")
                    mode = gr.Radio(["fast", "detailed"], value="fast", label="Mode",
                                    info="fast: any style in well under a second · detailed: Gatys optimisation, "
                                         "finer texture, minutes on a CPU, streams as it improves")
                    strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength (fast)")
                    with gr.Row():
                        keep_colors = gr.Checkbox(False, label="Keep the photo's colours")
                        scale = gr.Slider(0.5, 3, value=1.0, step=0.1, label="Style scale (bigger strokes →)")
                    size = gr.Slider(0, 2048, value=0, step=64, label="Output size (long side, px)",
                                     info="0 keeps the photo's size (at most 2048 px; 512 px in detailed mode)")
                    with gr.Accordion("Detailed mode", open=False):
                        iterations = gr.Slider(10, 1000, value=300, step=10, label="Iterations")
                        style_weight = gr.Number(1e6, label="Style weight")
                        content_weight = gr.Number(1.0, label="Content weight")
                        tv_weight = gr.Number(1e-3, label="Smoothness (total variation) weight")
                    with gr.Row():
                        run = gr.Button("🎨 Stylize", variant="primary")
                        stop = gr.Button("⏹ Stop")
                with gr.Column(scale=1):
                    result = gr.Image(label="Result", type="filepath", format="png", interactive=False,
                                      height=560, elem_id="style-result", buttons=["download", "fullscreen"])
                    message = gr.Markdown()

        def stylize(editor, style_name, upload, second_name, mix_weight, mode_name, strength_, keep, scale_, size_,
                    iterations_, style_w, content_w, tv_w, progress=gr.Progress()):
            try:
                content, mask = read_editor(editor)
                styles = [(studio.style_image(style_name, upload), 1.0 - (mix_weight if second_name != "none" else 0))]
                if second_name != "none":
                    styles.append((studio.style_image(second_name, None), mix_weight))
                if mode_name == "fast":
                    path = studio.stylize(content, styles, strength=strength_, style_scale=scale_,
                                          keep_colors=keep, mask=mask, size=int(size_) or None)
                    yield str(path), "Done (fast mode)."
                    return
                if len(styles) > 1 or mask is not None or keep:
                    note = " (detailed mode uses the first style, the whole photo and its own colours)"
                else:
                    note = ""
                steps = studio.stylize_detailed(content, styles[0][0], size=int(size_) or None,
                                                iterations=int(iterations_), style_weight=float(style_w),
                                                content_weight=float(content_w), tv_weight=float(tv_w))
                for step, image in steps:
                    progress(step / int(iterations_), desc=f"iteration {step}")
                    path = studio.output_path(".png")
                    image.save(path)
                    yield str(path), f"Iteration {step}/{int(iterations_)}{note}"
            except Exception as exc:  # every failure becomes a message (internal ones are logged)
                yield gr.skip(), error_message(exc)

        event = run.click(stylize, [self.content, style, style_upload, second, mix, mode, strength, keep_colors,
                                    scale, size, iterations, style_weight, content_weight, tv_weight],
                          [result, message], api_name="stylize_editor", api_visibility="undocumented",
                          concurrency_id="style", concurrency_limit=1)  # undocumented: tests drive the handler
        stop.click(lambda: "Stopped.", outputs=message, cancels=[event], api_visibility="private")
