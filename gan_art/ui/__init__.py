"""Gradio UI: one module per tab, wiring widgets to :class:`gan_art.studio.Studio` calls only."""
from __future__ import annotations

import gradio as gr

from gan_art.studio import Recipe, Studio
from gan_art.ui.api import add_api
from gan_art.ui.editor import editor_with
from gan_art.ui.explore import build_explore_tab
from gan_art.ui.repair import RepairTab
from gan_art.ui.style import StyleTab
from gan_art.ui.train import TrainTab
from gan_art.ui.upscale import UpscaleTab


def build_app(studio: Studio) -> gr.Blocks:
    """The whole app: a Blocks with one tab per feature."""
    with gr.Blocks(title="GAN Art Studio") as app:
        gr.Markdown("# GAN Art Studio")
        with gr.Tabs() as tabs:
            explore = build_explore_tab(studio, app)
            repair = RepairTab(studio)
            style = StyleTab(studio)
            UpscaleTab(studio)
            TrainTab(studio)
        add_api(studio)

        def send_to_style(recipe_json: str):
            if not recipe_json:
                return gr.skip(), gr.skip()
            path, _ = studio.export_recipe(Recipe.from_json(recipe_json))
            return editor_with(str(path)), gr.Tabs(selected="style")

        explore.send_to_style.click(send_to_style, explore.recipe, [style.content, tabs], api_visibility="private")
        repair.send_to_style.click(lambda path: (editor_with(path), gr.Tabs(selected="style")) if path
                                   else (gr.skip(), gr.skip()), repair.result, [style.content, tabs],
                                   api_visibility="private")
    return app
