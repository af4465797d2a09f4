"""Gradio UI: one module per tab, wiring widgets to :class:`gan_art.studio.Studio` calls only."""
from __future__ import annotations

import gradio as gr

from gan_art.studio import Studio


def build_app(studio: Studio) -> gr.Blocks:
    """The whole app: a Blocks with one tab per feature."""
    from gan_art.ui.explore import build_explore_tab
    from gan_art.ui.train import build_train_tab

    with gr.Blocks(title="GAN Art Studio") as app:
        gr.Markdown("# GAN Art Studio")
        with gr.Tabs():
            build_explore_tab(studio, app)
            build_train_tab(studio)
    return app
