"""Explore tab: latent sliders over a generator, live; recipes in PNGs; favourites; interpolation."""
from __future__ import annotations

import base64
import html
import random

import gradio as gr

from gan_art.errors import CheckpointError, RecipeError
from gan_art.studio import DEFAULT_DETAIL, LAYER_GROUPS, Recipe, Studio, png_with_recipe
from gan_art.ui.editor import SafeImage
from gan_art.ui.feedback import error_message

NUM_PCA = 12
LABELLED = ("age", "gender")
NUM_CUSTOM = 6
NUM_LATENT = 8
PRIVATE = {"api_visibility": "private"}  # UI wiring: the named API (gan_art.ui.api) is the documented way in


def _slider(label: str, visible: bool = True, span: float = 5.0) -> gr.Slider:
    return gr.Slider(-span, span, value=0.0, step=0.1, label=label, visible=visible, min_width=120)


class ExploreControls:
    """The tab's input widgets and the mapping between their values and a :class:`Recipe`."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        names = studio.list_checkpoints()
        default = studio.default_checkpoint if studio.default_checkpoint in names else (names[0] if names else None)
        with gr.Row():
            # custom values allowed: new runs appear after start-up; Studio itself refuses unlisted names
            self.checkpoint = gr.Dropdown(names, value=default, label="Checkpoint", scale=4, allow_custom_value=True)
            self.refresh = gr.Button("↻ Refresh list", scale=1, size="sm")
        with gr.Row():
            self.seed = gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, label="Seed", scale=3)
            self.random = gr.Button("🎲 Random seed", scale=1, size="sm")
        self.psi = gr.Slider(0.0, 1.5, value=0.7, step=0.05, label="Truncation ψ",
                             info="0 = the average face, 1 = full variety")
        with gr.Row():
            self.upscale = gr.Checkbox(True, label="Sharp faces (2x upscaler)", scale=1, elem_id="explore-upscale",
                                       info="off: the generator's own pixels")
            self.detail = gr.Slider(0.0, 1.0, value=DEFAULT_DETAIL, step=0.05, label="Detail", scale=2,
                                    info="0 = faithful (smooth) · 1 = detailed (invented skin and hair texture)")
        self.layers = gr.Radio(list(LAYER_GROUPS), value="all", label="Directions edit these layers",
                               info="coarse: pose, face shape · middle: features, hair · fine: colour, texture")
        with gr.Accordion("Labelled directions", open=True):
            self.labelled = [_slider(name) for name in LABELLED]
        with gr.Accordion("Principal directions (GANSpace PCA of w)", open=True):
            self.pca = [_slider(f"PC{i + 1}") for i in range(NUM_PCA)]
        with gr.Accordion("Your directions", open=False):
            self.custom = [_slider(f"custom {i + 1}", visible=False) for i in range(NUM_CUSTOM)]
            with gr.Row():
                self.direction_name = gr.Textbox(label="Name", placeholder="e.g. smiling", scale=3)
                self.save_direction = gr.Button("Save current sliders as a direction", scale=2)
        with gr.Accordion("Raw latent z (first dimensions)", open=False):
            self.latent = [_slider(f"z[{i}]", span=3.0) for i in range(NUM_LATENT)]
        with gr.Accordion("Style mixing", open=False):
            with gr.Row():
                self.mix_on = gr.Checkbox(False, label="Mix with a second seed")
                self.mix_seed = gr.Number(1, precision=0, minimum=0, maximum=2**32 - 1, label="Second seed")
            self.mix_layers = gr.Radio(["coarse", "middle", "fine"], value="fine",
                                       label="Layers taken from the second seed")
        self.reset = gr.Button("Reset sliders")
        self.custom_names = gr.State([])
        self.projected = gr.State("")  # a photo's face found in the latent space; "" = the seed's face
        self.photo_face = gr.State([])  # where that face sits in its photo (Recipe.photo_face)
        self.face_view = gr.State("")  # the user's aligned face from the photo (a PNG path): photo mode when set

    @property
    def settings(self) -> list:
        return [self.checkpoint, self.seed, self.psi, self.layers, self.mix_on, self.mix_seed, self.mix_layers,
                self.upscale, self.detail]

    @property
    def sliders(self) -> list[gr.Slider]:
        return [*self.labelled, *self.pca, *self.custom, *self.latent]

    @property
    def inputs(self) -> list:
        """Every control, in the order :meth:`control_updates` returns updates for them."""
        return [*self.settings, self.custom_names, self.projected, self.photo_face, self.face_view, *self.sliders]

    def to_recipe(self, values: dict) -> Recipe:
        """The recipe the controls show; ``values`` maps each control of :attr:`inputs` to its value."""
        checkpoint = values[self.checkpoint]
        if not checkpoint:
            raise CheckpointError("no checkpoint available: train one in the Train tab or restore checkpoints/")
        named = [*zip(LABELLED, self.labelled), *((f"PC{i + 1}", s) for i, s in enumerate(self.pca)),
                 *zip(values[self.custom_names], self.custom)]
        loaded = self.studio.model(checkpoint)
        directions = {name: round(float(values[s]), 3) for name, s in named if values[s] and name in loaded.directions}
        latent = {i: round(float(values[s]), 3) for i, s in enumerate(self.latent) if values[s]}
        return Recipe(checkpoint=checkpoint, seed=int(values[self.seed] or 0), truncation_psi=float(values[self.psi]),
                      directions=directions, layers=values[self.layers], latent=latent,
                      mix_seed=int(values[self.mix_seed]) if values[self.mix_on] else None,
                      mix_layers=values[self.mix_layers], projected=values[self.projected] or "",
                      photo_face=list(values[self.photo_face] or []) if values[self.projected] else [],
                      upscaler=self.studio.upscaler_for(checkpoint) if values[self.upscale] else "",
                      detail=float(values[self.detail]))

    def control_updates(self, recipe: Recipe, face_view: str = "") -> list:
        """Values/updates for ``inputs`` that show ``recipe`` on its checkpoint (in photo mode with ``face_view``)."""
        loaded = self.studio.model(recipe.checkpoint)
        values = recipe.directions
        custom_names = loaded.names("custom")[:NUM_CUSTOM]
        described = loaded.directions
        checkpoint = gr.Dropdown(choices=self.studio.list_checkpoints(), value=recipe.checkpoint)
        has_upscaler = bool(self.studio.upscaler_for(recipe.checkpoint))
        updates = [checkpoint, recipe.seed, recipe.truncation_psi, recipe.layers, recipe.mix_seed is not None,
                   recipe.mix_seed if recipe.mix_seed is not None else 1, recipe.mix_layers,
                   gr.Checkbox(value=bool(recipe.upscaler), interactive=has_upscaler),
                   gr.Slider(value=recipe.detail, interactive=has_upscaler), custom_names, recipe.projected,
                   recipe.photo_face, face_view if recipe.projected else ""]
        updates += [gr.Slider(value=values.get(n, 0.0), visible=n in described,
                              info=described[n].description if n in described else None) for n in LABELLED]
        updates += [gr.Slider(value=values.get(f"PC{i + 1}", 0.0), visible=f"PC{i + 1}" in described)
                    for i in range(NUM_PCA)]
        updates += [gr.Slider(value=values.get(custom_names[i], 0.0), visible=True, label=custom_names[i],
                              info=described[custom_names[i]].description)
                    if i < len(custom_names) else gr.Slider(value=0.0, visible=False) for i in range(NUM_CUSTOM)]
        updates += [gr.Slider(value=recipe.latent.get(i, 0.0)) for i in range(NUM_LATENT)]
        return updates


class ExploreView:
    """The output widgets, and how a rendered recipe fills them.

    The image travels inline as one PNG data URL (with its recipe) inside HTML: shown upscaled by
    the browser and as the download link. One small payload per slider move and no file round trips
    is what keeps live dragging fast.
    """

    def __init__(self) -> None:
        self.image = gr.HTML(elem_id="explore-view", min_height=560)
        with gr.Row():
            self.favourite = gr.Button("☆ Add to favourites")
            self.send_to_style = gr.Button("🎨 Send to Style")
        self.message = gr.Markdown()
        self.recipe = gr.Code(label="Recipe (embedded in every downloaded PNG)", language="json", interactive=False)

    @property
    def outputs(self) -> list:
        return [self.image, self.recipe, self.message]

    @staticmethod
    def show(studio: Studio, recipe: Recipe, message: str = "", face_view: str = "") -> list:
        """The recipe's face; in photo mode (``face_view``), the user's own face with the edit, and the generator's
        image of it beside."""
        if face_view and recipe.projected and recipe.photo_face:
            edited, generated, recipe = studio.edited_face(face_view, recipe)
            html = view_html(png_with_recipe(edited, recipe), edited.shape[0], recipe,
                             generated=png_with_recipe(generated, recipe))
            return [html, recipe.to_json(), message]
        png, resolution, recipe = studio.render_png(recipe)
        return [view_html(png, resolution, recipe), recipe.to_json(), message]

    @staticmethod
    def error(exc: Exception) -> list:
        return [gr.skip(), gr.skip(), error_message(exc)]


def view_html(png: bytes, resolution: int, recipe: Recipe, generated: bytes | None = None) -> str:
    """The big image and its download link; in photo mode ``generated`` (the generator's image) small beside it."""
    # the data URL travels twice (view and download link), not more: it is most of every slider update's payload
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    name = html.escape(f"{recipe.checkpoint}-{'photo-edit' if generated else f'seed{recipe.seed}'}.png")
    what = "your face with the edit" if generated else "generated image"
    small = ""
    if generated is not None:
        small_url = "data:image/png;base64," + base64.b64encode(generated).decode()
        small = (f'<figure style="margin:8px auto 0;width:128px;text-align:center"><img class="ga-generated" '
                 f'src="{small_url}" alt="the generator\'s face" style="width:128px;border-radius:4px">'
                 '<figcaption style="font-size:12px">what the model understood</figcaption></figure>')
    return (f'<div class="ga-view"><img class="ga-big" src="{url}" alt="{what}" '
            'style="width:min(100%,512px);aspect-ratio:1;display:block;margin:auto;border-radius:6px">'
            f'{small}<div style="margin-top:8px"><a class="ga-download" download="{name}" href="{url}" '
            f'style="font-weight:600">⬇ Download PNG ({resolution} px, with its recipe)</a></div></div>')


def build_explore_tab(studio: Studio, app: gr.Blocks) -> ExploreView:
    with gr.Tab("Explore", id="explore"):
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                photo = _PhotoWidgets()
                controls = ExploreControls(studio)
            with gr.Column(scale=3):
                view = ExploreView()
                recipe_drop = gr.File(label="Drop a PNG saved by this app to restore its controls",
                                      file_types=[".png"], type="binary")
                extras = _ExtrasWidgets()

    def render_controls(values: dict):
        try:
            return ExploreView.show(studio, controls.to_recipe(values), face_view=values[controls.face_view])
        except Exception as exc:  # every failure becomes a message (internal ones are logged)
            return ExploreView.error(exc)

    # inputs as a set: the handler gets {control: value}; what the page sends on every slider move
    live = dict(fn=render_controls, inputs=set(controls.inputs), outputs=view.outputs, show_progress="hidden",
                trigger_mode="always_last", concurrency_id="render", concurrency_limit=2)
    gr.on([s.input for s in controls.sliders] + [controls.psi.input, controls.layers.input,
                                               controls.mix_on.input, controls.mix_layers.input,
                                               controls.mix_seed.submit, controls.upscale.input,
                                               controls.detail.input],
          api_name="explore_slider", api_visibility="undocumented", **live)  # undocumented: timed by benchmarks
    # a new seed means a generated face again, not the photo's
    controls.seed.submit(lambda: ("", ""), outputs=[controls.projected, controls.face_view],
                         **PRIVATE).then(**live, **PRIVATE)

    restore_outputs = [*controls.inputs, *view.outputs]
    no_change = [gr.skip()] * len(controls.inputs)

    def apply(recipe: Recipe, message: str = "", face_view: str = "") -> list:
        """Set every control to ``recipe`` and show its image (the user's face edited, with ``face_view``)."""
        try:
            return controls.control_updates(recipe, face_view) + ExploreView.show(studio, recipe, message, face_view)
        except Exception as exc:
            return no_change + ExploreView.error(exc)

    def start_fresh(checkpoint, seed, psi):
        try:
            upscaler = studio.upscaler_for(checkpoint) if checkpoint else ""
        except Exception as exc:
            return no_change + ExploreView.error(exc)
        return apply(Recipe(checkpoint=checkpoint, seed=int(seed or 0), truncation_psi=float(psi), upscaler=upscaler))

    fresh = dict(fn=start_fresh, inputs=[controls.checkpoint, controls.seed, controls.psi], outputs=restore_outputs)
    controls.checkpoint.input(**fresh, **PRIVATE)
    controls.reset.click(**fresh, **PRIVATE)
    controls.random.click(lambda: (random.randrange(2**32), "", ""),
                          outputs=[controls.seed, controls.projected, controls.face_view], **PRIVATE).then(**live,
                                                                                                        **PRIVATE)
    controls.refresh.click(lambda: gr.Dropdown(choices=studio.list_checkpoints()), outputs=controls.checkpoint,
                           **PRIVATE)

    def restore(data: bytes | None):
        if data is None:  # the file was cleared
            return no_change + [gr.skip()] * len(view.outputs)
        try:
            recipe = studio.read_recipe(data)
        except Exception as exc:
            return no_change + ExploreView.error(exc)
        return apply(recipe, "Restored from the PNG's recipe ✓")

    recipe_drop.upload(restore, inputs=recipe_drop, outputs=restore_outputs, api_name="explore_restore",
                       api_visibility="undocumented")  # undocumented: tests drop PNGs on it

    def save_direction(values: dict):
        try:
            recipe = controls.to_recipe(values)
            direction = studio.save_direction(values[controls.direction_name], recipe)
            return apply(recipe, f"Saved direction **{direction.name}** ({direction.description})")
        except Exception as exc:
            return no_change + ExploreView.error(exc)

    controls.save_direction.click(save_direction, inputs={controls.direction_name, *controls.inputs},
                                  outputs=restore_outputs, **PRIVATE)
    _wire_extras(studio, view, extras, apply, restore_outputs)
    _wire_photo(studio, controls, view, photo, apply, restore_outputs)
    app.load(**fresh, **PRIVATE)  # the first face appears as soon as the page opens
    return view


class _ExtrasWidgets:
    def __init__(self) -> None:
        self.favourites = gr.State([])  # [{"recipe": json, "png": path}]
        with gr.Accordion("Favourites and interpolation", open=False):
            self.gallery = gr.Gallery(label="Favourites (this session) · click one to make it current", columns=6,
                                      height=180, allow_preview=False)
            with gr.Row():
                self.end_a = gr.Dropdown([], label="From", info="a favourite, or type a seed", allow_custom_value=True)
                self.end_b = gr.Dropdown([], label="To", allow_custom_value=True)
            with gr.Row():
                self.frames = gr.Slider(4, 120, value=24, step=1, label="Frames")
                self.fps = gr.Slider(2, 30, value=12, step=1, label="Frames per second")
                self.loop = gr.Checkbox(True, label="Loop (there and back)")
            self.animate = gr.Button("Make interpolation (GIF + MP4)")
            with gr.Row():
                self.gif = gr.Image(label="GIF", interactive=False, format="gif", type="filepath")
                self.mp4 = gr.Video(label="MP4", interactive=False)
            self.files = gr.File(label="Downloads", file_count="multiple", interactive=False)
        with gr.Accordion("Variations around the current face", open=False):
            self.strength = gr.Slider(0.1, 3.0, value=1.0, step=0.1, label="How far (standard deviations)")
            self.vary = gr.Button("Show 16 variations")
            self.variations = gr.Gallery(label="Click one to make it current", columns=4, height=420,
                                         allow_preview=False)
            self.variation_recipes = gr.State([])


def describe(recipe: Recipe, index: int) -> str:
    edits = ", ".join(f"{k} {v:+g}" for k, v in recipe.directions.items())
    return f"{index + 1}: seed {recipe.seed}" + (f" ({edits})" if edits else "")


def recipe_of(choice: str | None, favourites: list[dict], template: Recipe) -> Recipe:
    """A favourite chosen by its label, or a plain seed typed by the user."""
    for index, item in enumerate(favourites):
        recipe = Recipe.from_json(item["recipe"])
        if choice == describe(recipe, index):
            return recipe
    try:
        return Recipe(checkpoint=template.checkpoint, seed=int(str(choice).strip()),
                      truncation_psi=template.truncation_psi, upscaler=template.upscaler, detail=template.detail)
    except ValueError:
        raise RecipeError(f"choose a favourite or type a seed number, not {choice!r}") from None


def _wire_extras(studio: Studio, view: ExploreView, extras: _ExtrasWidgets, apply, restore_outputs: list) -> None:
    def add_favourite(favourites: list[dict], recipe_json: str):
        if not recipe_json:
            return favourites, gr.skip(), gr.skip(), gr.skip()
        png, recipe = studio.export_recipe(Recipe.from_json(recipe_json))
        favourites = favourites + [{"recipe": recipe.to_json(), "png": str(png)}]
        labels = [describe(Recipe.from_json(f["recipe"]), i) for i, f in enumerate(favourites)]
        gallery = [(f["png"], label) for f, label in zip(favourites, labels)]
        return favourites, gallery, gr.Dropdown(choices=labels), gr.Dropdown(choices=labels)

    view.favourite.click(add_favourite, inputs=[extras.favourites, view.recipe],
                         outputs=[extras.favourites, extras.gallery, extras.end_a, extras.end_b],
                         api_name="explore_favourite", api_visibility="undocumented")  # a test checks sessions

    def pick_favourite(favourites: list[dict], event: gr.SelectData):
        return apply(Recipe.from_json(favourites[event.index]["recipe"]))

    extras.gallery.select(pick_favourite, inputs=extras.favourites, outputs=restore_outputs, **PRIVATE)

    def make_interpolation(favourites, choice_a, choice_b, frames, fps, loop, recipe_json, progress=gr.Progress()):
        try:
            template = Recipe.from_json(recipe_json) if recipe_json else Recipe()
            recipe_a = recipe_of(choice_a, favourites, template)
            recipe_b = recipe_of(choice_b, favourites, template)
            progress(0.1, desc="rendering frames")
            gif, mp4 = studio.interpolation(recipe_a, recipe_b, int(frames), bool(loop), int(fps))
        except Exception as exc:
            return gr.skip(), gr.skip(), gr.skip(), error_message(exc)
        return str(gif), str(mp4), [str(gif), str(mp4)], ""

    extras.animate.click(make_interpolation,
                         inputs=[extras.favourites, extras.end_a, extras.end_b, extras.frames, extras.fps,
                                 extras.loop, view.recipe],
                         outputs=[extras.gif, extras.mp4, extras.files, view.message], concurrency_id="render",
                         api_name="explore_interpolate", api_visibility="undocumented")

    def make_variations(recipe_json: str, strength: float):
        if not recipe_json:
            return gr.skip(), gr.skip()
        results = studio.variations(Recipe.from_json(recipe_json), float(strength))
        return [studio.display(image, 128) for image, _ in results], [r.to_json() for _, r in results]

    extras.vary.click(make_variations, inputs=[view.recipe, extras.strength],
                      outputs=[extras.variations, extras.variation_recipes], concurrency_id="render",
                      api_name="explore_variations", api_visibility="undocumented")

    def pick_variation(recipes: list[str], event: gr.SelectData):
        return apply(Recipe.from_json(recipes[event.index]), "Variation applied: its sliders are set above")

    extras.variations.select(pick_variation, inputs=extras.variation_recipes, outputs=restore_outputs, **PRIVATE)


class _PhotoWidgets:
    def __init__(self) -> None:
        with gr.Accordion("Start from a photo: find your face in the generator and edit it", open=False):
            self.upload = SafeImage(label="A photo with a face", type="filepath", height=200,
                                    sources=("upload", "clipboard"), elem_id="explore-photo")
            with gr.Row():
                self.is_crop = gr.Checkbox(False, label="The photo is a face crop like the training faces")
                self.find = gr.Button("🔍 Find faces", size="sm")
            self.faces = gr.Gallery(label="Faces found · click the one to edit", columns=4, height=140,
                                    allow_preview=False, object_fit="contain", elem_id="explore-faces")
            self.steps = gr.Slider(0, 400, value=100, step=10, label="Refinement steps",
                                   info="more: closer likeness, slower (about 6 s per 100 steps on 2 cores)")
            with gr.Row():
                self.reconstruct = gr.Button("✨ Reconstruct", variant="primary")
                self.stop = gr.Button("⏹ Stop")
            self.progress = gr.Image(label="Reconstruction", interactive=False, height=160,
                                     elem_id="explore-reconstruction")
            self.message = gr.Markdown()
            with gr.Row():
                self.paste = gr.Button("🖼 Apply the edit to the whole photo")
                self.generator_face = gr.Checkbox(False, label="Paste the generator's face instead of editing yours",
                                                  info="replaces your face with the model's (softer) version")
            self.pasted = gr.Image(label="Your photo with the edit, at its size", type="filepath", interactive=False,
                                   buttons=["download", "fullscreen"], elem_id="explore-pasted")
            self.found = gr.State([])  # the aligned faces of the photo (AlignedFace)
            self.chosen = gr.State(0)


def _wire_photo(studio: Studio, controls: ExploreControls, view: ExploreView, photo: _PhotoWidgets, apply,
                restore_outputs: list) -> None:
    def find(path, is_crop, checkpoint):
        try:
            picture = studio.open_photo(path) if path else None
            if picture is None:
                raise RecipeError("upload a photo first")
            faces = studio.photo_faces(picture, checkpoint, is_crop)
        except Exception as exc:  # every failure becomes a message (internal ones are logged)
            return gr.skip(), [], 0, error_message(exc)
        note = (f"Found {len(faces)} faces: click the one to edit, then Reconstruct." if len(faces) > 1
                else "Found the face: Reconstruct finds it in the generator.")
        return [face.image for face in faces], faces, 0, " ".join([note, *studio.face_notes(faces[0])])

    photo.find.click(find, [photo.upload, photo.is_crop, controls.checkpoint],
                     [photo.faces, photo.found, photo.chosen, photo.message], **PRIVATE)

    def choose(faces, event: gr.SelectData):
        return event.index, " ".join(studio.face_notes(faces[event.index])) or gr.skip()

    photo.faces.select(choose, photo.found, [photo.chosen, photo.message], **PRIVATE)

    skip_controls = [gr.skip()] * len(restore_outputs)

    def chosen_face(faces, chosen):  # the gallery's pick, or the last face if the list has shrunk
        return faces[min(int(chosen), len(faces) - 1)]

    def reconstruct(path, faces, chosen, checkpoint, steps):
        try:
            if not faces:
                raise RecipeError("find the faces in a photo first")
            total, last = int(steps), None
            for last in studio.invert_face(chosen_face(faces, chosen), checkpoint, total):
                if last[0] < total:
                    yield last[1], f"Step {last[0]}/{total}: getting closer…", *skip_controls
            _, image, recipe = last
            view = studio.face_view(studio.open_photo(path), recipe)
            note = ("Found it. Every slider now edits your own face (shown from your photo, the generator's version "
                    "small below it); 'Apply the edit to the whole photo' gives your photo back at its size. "
                    + studio.reconstruction_note(chosen_face(faces, chosen), recipe)).strip()
            if not studio.has_encoder(checkpoint):
                note += (" This checkpoint has no encoder, so the search started from the best of 64 random faces "
                         "(slower; `python -m gan_art train-encoder` gives it one).")
            yield image, note, *apply(recipe, face_view=str(view))
        except Exception as exc:
            yield gr.skip(), error_message(exc), *skip_controls

    event = photo.reconstruct.click(reconstruct, [photo.upload, photo.found, photo.chosen, controls.checkpoint,
                                                  photo.steps],
                                    [photo.progress, photo.message, *restore_outputs], concurrency_id="invert",
                                    concurrency_limit=1, api_visibility="private")
    photo.stop.click(lambda: "Stopped.", outputs=photo.message, cancels=[event], **PRIVATE)

    def paste(path, faces, chosen, recipe_json, generator_face):
        try:
            recipe = Recipe.from_json(recipe_json) if recipe_json else None
            if not path or recipe is None or not recipe.projected:
                raise RecipeError("reconstruct a face from the photo first")
            picture = studio.open_photo(path)
            if generator_face:
                if not faces:
                    raise RecipeError("find the faces in the photo first")
                pasted = studio.paste_face(picture, chosen_face(faces, chosen), recipe)
            else:
                pasted = studio.edit_photo(picture, recipe)
        except Exception as exc:
            return gr.skip(), error_message(exc)
        return str(pasted), "Your photo with the edit, at its own size (download it above)."

    photo.paste.click(paste, [photo.upload, photo.found, photo.chosen, view.recipe, photo.generator_face],
                      [photo.pasted, photo.message], **PRIVATE)
