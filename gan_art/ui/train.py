"""Train tab: set up a run, start it in a worker process, and watch grids and curves stream in."""
from __future__ import annotations

import html
import time

import gradio as gr
from gradio.components.native_plot import PlotData

from gan_art.errors import DatasetError
from gan_art.studio import TRANSFER_IMAGES, Studio, TrainRequest, default_batch_size
from gan_art.ui.feedback import error_message

SOURCES = ("Built-in faces (2,000 UTKFace photos)", "Upload images or a zip", "Folder on this server")
SCRATCH = "scratch (a new model)"
RECOMMENDED_PARENT = "faces"  # the shipped face model: the start for faces, portraits and small folders
LOSS_SERIES = {"loss_d": "D loss", "loss_g": "G loss"}
HEALTH_SERIES = {"d_real": "D(x)", "d_fake": "D(G(z))"}
PRIVATE = {"api_visibility": "private"}  # UI wiring: the named API (gan_art.ui.api) is the documented way in
UNSEEN = {"grids": -1, "metrics": -1}  # what the live view has painted: nothing yet


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


# What to expect, in images seen (benchmarks/transfer_quality.py: 100 images of a new look, 2-core CPUs at 17-54
# images/s); the tab turns them into minutes at this machine's measured speed. A note, not a promise.
# The recipe (feature discriminator, batches of 16): SWD from the untouched face model's 92 (old photo) / 134
# (sketch) to 32 / 47 at about 2,600 images, 27 / 45 at 6,500 and 25 / 45 at 12,500 (2-core CPU, bf16 forced off)
LOOK_TAKEN_ON_IMAGES = 5_000
EXPECT_FROM_SCRATCH = ("From scratch, expect blurred blobs for at least the first 10 minutes on a 2-core CPU; "
                       "starting from a trained model is far quicker for faces and portraits.")


def expectation(images_per_s: float, start_from: str) -> str:
    if not start_from:
        return EXPECT_FROM_SCRATCH
    return (f"From a trained model the grid takes on your images' look after about {LOOK_TAKEN_ON_IMAGES:,} "
            f"images (≈ {duration(LOOK_TAKEN_ON_IMAGES / images_per_s)} here); most of what training gains comes in "
            f"the first {TRANSFER_IMAGES:,} (≈ {duration(TRANSFER_IMAGES / images_per_s)}), where the run ends unless "
            "you set its steps: on a small folder longer runs can get worse. Press ⏹ Stop sooner if the grid looks "
            "best earlier (the run keeps that step). "
            "Measured with 100 images of a new look.")


def estimate_text(estimate, steps: int, batch_size: int, start_from: str = "") -> str:
    choice = estimate.choice
    note = choice.reason if estimate.precision == choice.precision else f"{estimate.precision} (your choice)"
    if estimate.precision not in choice.seconds_per_step:  # not timed: the speed shown is fp32's
        note = f"{estimate.precision} (your choice; not timed here, expect it slower than shown: {choice.reason})"
    return (f"Expected here: **{estimate.images_per_s:.0f} images/s** · precision {note} · "
            f"{int(steps):,} steps ≈ **{duration(estimate.eta_s(int(steps), batch_size))}**\n\n"
            f"{expectation(estimate.images_per_s, start_from)}")


def status_html(view) -> str:
    status = view.status
    step, steps = status.get("step", 0), max(status.get("steps", 1), 1)
    state = status.get("state", "?")
    speed = status.get("images_per_s")
    eta = status.get("eta_s")
    parts = [f"<b>{html.escape(view.name)}</b> · <b>{state}</b> · step {step:,}/{steps:,}"]
    if speed:
        parts.append(f"{speed:.1f} images/s")
    if status.get("precision"):
        parts.append(f"precision {status['precision']}")
    if eta and state == "running":
        parts.append(f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
    quality = next((m["swd_avg"] for m in reversed(view.metrics) if "swd_avg" in m), None)
    if quality is not None:
        parts.append(f"SWD {quality:.1f}")
    message = html.escape(status.get("message") or "")
    if status.get("precision_note") and state in ("starting", "running", "paused"):
        message = html.escape(status["precision_note"]) + (f" · {message}" if message else "")
    bar = (f'<div style="background:#eee;border-radius:4px;height:10px;margin:6px 0"><div style="width:'
           f'{100 * min(step / steps, 1):.1f}%;background:#f97316;height:10px;border-radius:4px"></div></div>')
    return f'<div id="run-status">{" · ".join(parts)}{bar}<small>{message}</small></div>'


def curves(metrics: list[dict], series: dict[str, str]) -> dict:
    """A gr.LinePlot value: one line per series over the steps."""
    rows = [[m["step"], m[key], label] for m in metrics for key, label in series.items() if key in m]
    return PlotData(columns=["step", "value", "series"], data=rows or [[0, 0.0, next(iter(series.values()))]],
                    datatypes={"step": "quantitative", "value": "quantitative", "series": "nominal"},
                    mark="line").model_dump()


class TrainTab:
    """The form that starts runs and the live view of one run, wired to :class:`Studio` calls."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.defaults = studio.train_defaults()
        with gr.Tab("Train", id="train") as self.tab:
            with gr.Row():
                with gr.Column(scale=2, min_width=320):
                    self._build_form()
                with gr.Column(scale=3):
                    self._build_monitor()
            self.shown = gr.State(dict(UNSEEN))
            self.steps_chosen = gr.State(False)  # True once the user typed a step count: estimates stop refitting
            self.timer = gr.Timer(1.0)
        self._wire_form()
        self._wire_monitor()

    # ---- layout --------------------------------------------------------------------------------
    def _build_form(self) -> None:
        defaults = self.defaults
        self.source = gr.Radio(list(SOURCES), value=SOURCES[0], label="Dataset")
        self.files = gr.File(label="Images or one zip", file_count="multiple", visible=False,
                             file_types=["image", ".zip"])
        self.folder = gr.Textbox(label="Folder or zip path on the server", visible=False)
        self.preview = gr.Button("Preview dataset")
        self.preview_text = gr.Markdown()
        self.preview_grid = gr.Image(label="First images", interactive=False, visible=False, height=240)
        parents = self.studio.parent_models()
        start = RECOMMENDED_PARENT if RECOMMENDED_PARENT in parents else SCRATCH
        arch, resolution = (self.studio.parent_architecture(start) if start != SCRATCH
                            else (defaults.arch, defaults.resolution))
        self.start_from = gr.Dropdown([SCRATCH, *parents], value=start, label="Start from",
                                      elem_id="train-start-from",
                                      info="a trained model (recommended for faces, portraits and small folders: "
                                           "it fine-tunes in minutes on a CPU), or a new model from scratch")
        self.arch = gr.Radio(["stylegan", "dcgan"], value=arch, label="Architecture", interactive=start == SCRATCH,
                             info="stylegan: modern default (mapping network, R1, DiffAugment, EMA); "
                                  "dcgan: the classic 2016 recipe")
        with gr.Row():
            self.resolution = gr.Dropdown([16, 32, 64, 128], value=resolution, label="Resolution (px)",
                                          interactive=start == SCRATCH)
            batch = defaults.batch_size if start == SCRATCH else default_batch_size(start)
            self.batch = gr.Slider(4, 128, value=batch, step=4, label="Batch size")
        with gr.Row():
            self.steps = gr.Number(1000, precision=0, minimum=1, label="Steps",
                                   info=f"set to a run of about {defaults.minutes:.0f} minutes on this machine")
            self.minutes = gr.Number(0, minimum=0, label="…or stop after minutes (0 = off)")
        self.estimate = gr.Markdown("Measuring this machine's training speed…", elem_id="train-estimate")
        with gr.Accordion("Advanced", open=False):
            with gr.Row():
                self.lr_g = gr.Number(0, minimum=0, label="G learning rate (0 = recipe default)")
                self.lr_d = gr.Number(0, minimum=0, label="D learning rate (0 = recipe default)")
            with gr.Row():
                self.augment = gr.Checkbox(defaults.augment, label="DiffAugment")
                self.ema = gr.Checkbox(defaults.ema, label="EMA generator")
            with gr.Row():
                self.seed = gr.Number(defaults.seed, precision=0, minimum=0, label="Seed")
                self.device = gr.Dropdown(["auto", "cpu", "cuda"], value=defaults.device, label="Device",
                                          info="auto uses CUDA when present")
                self.precision = gr.Dropdown(["auto", "fp32", "bf16", "fp16"], value=defaults.precision,
                                             label="Precision", info="auto: the fastest measured on this machine")
            self.name = gr.Textbox(label="Run name (optional)", placeholder="letters, digits, - and _")
        self.start = gr.Button("▶ Start training", variant="primary")
        self.start_message = gr.Markdown()

    def _build_monitor(self) -> None:
        names = self.studio.run_names()
        with gr.Row():
            self.run = gr.Dropdown(names, value=(names or [None])[0], label="Run", scale=4)
            self.refresh = gr.Button("↻", scale=0, size="sm")
        self.status = gr.HTML(elem_id="train-status")
        with gr.Row():
            self.pause = gr.Button("⏸ Pause")
            self.resume = gr.Button("⏵ Resume")
            self.stop = gr.Button("⏹ Stop")
        self.grid = gr.Image(label="Latest fixed-latent samples", interactive=False, height=400,
                             elem_id="train-grid", type="filepath")
        with gr.Row():
            self.timeline = gr.Slider(0, 1, value=0, step=1, label="Timeline: earlier sample grids", scale=4)
            self.follow = gr.Checkbox(True, label="Follow the newest grid", scale=1)
        with gr.Row():
            self.loss_plot = gr.LinePlot(x="step", y="value", color="series", label="Losses", height=220)
            self.health_plot = gr.LinePlot(x="step", y="value", color="series", label="D(x) and D(G(z))",
                                           height=220, y_lim=[0, 1])
        self.log = gr.Code(label="Worker log (last lines)", visible=False, language=None)
        with gr.Row():
            self.promote_name = gr.Textbox(label="Promote into checkpoints/ as", scale=3)
            self.promote = gr.Button("Promote", scale=1)
        self.control_message = gr.Markdown()

    @property
    def form(self) -> list:
        """The inputs of :meth:`request`, in its order."""
        return [self.start_from, self.arch, self.resolution, self.batch, self.steps, self.minutes, self.lr_g, self.lr_d,
                self.augment, self.ema, self.seed, self.device, self.precision]

    def request(self, start_from, arch, resolution, batch, steps, minutes, lr_g, lr_d, augment, ema, seed, device,
                precision) -> TrainRequest:
        return TrainRequest(arch=arch, resolution=int(resolution), batch_size=int(batch), steps=int(steps or 0),
                            minutes=self.defaults.minutes, max_minutes=float(minutes or 0), lr_g=float(lr_g or 0),
                            lr_d=float(lr_d or 0), augment=bool(augment), ema=bool(ema), seed=int(seed or 0),
                            device=device, precision=precision,
                            start_from="" if start_from in (None, SCRATCH) else start_from)

    def dataset(self, source: str, files: list | None, folder: str | None) -> tuple[str, list | None]:
        """(dataset, uploaded files) for Studio from the form's dataset choice."""
        if source == SOURCES[1]:
            if not files:
                raise DatasetError("upload some images or one zip first")
            return "", files
        return (Studio.BUILTIN_DATASET if source == SOURCES[0] else folder or ""), None

    # ---- the form ------------------------------------------------------------------------------
    def _wire_form(self) -> None:
        studio = self.studio
        self.source.change(lambda choice: (gr.File(visible=choice == SOURCES[1]),
                                           gr.Textbox(visible=choice == SOURCES[2])),
                           self.source, [self.files, self.folder], **PRIVATE)

        def follow_parent(start_from):
            """A run from a trained model trains at its architecture and resolution, at the recipe's batch."""
            if start_from in (None, SCRATCH):
                return (gr.Radio(interactive=True), gr.Dropdown(interactive=True),
                        gr.Slider(value=self.defaults.batch_size))
            arch, resolution = studio.parent_architecture(start_from)
            return (gr.Radio(value=arch, interactive=False), gr.Dropdown(value=resolution, interactive=False),
                    gr.Slider(value=default_batch_size(start_from)))

        self.start_from.change(follow_parent, self.start_from, [self.arch, self.resolution, self.batch], **PRIVATE)

        def estimate(chosen, *values):
            """The expected speed and ETA; a step count the user has not typed is refitted to the default length."""
            try:
                wanted = self.request(*values)
                found = studio.estimate_training(wanted)
            except Exception as exc:  # every failure becomes a message (internal ones are logged)
                return error_message(exc), gr.skip()
            fitted = wanted.steps if chosen else found.default_steps(wanted)
            return (estimate_text(found, fitted, wanted.batch_size, wanted.start_from),
                    gr.skip() if chosen else fitted)

        estimate_event = dict(fn=estimate, inputs=[self.steps_chosen, *self.form], outputs=[self.estimate, self.steps],
                              show_progress="minimal", concurrency_id="train-estimate", concurrency_limit=1,
                              trigger_mode="always_last", **PRIVATE)
        self.steps.input(lambda: True, outputs=self.steps_chosen, **PRIVATE).then(**estimate_event)
        gr.on([self.tab.select, self.start_from.change, self.arch.change, self.resolution.change, self.batch.change,
               self.device.change, self.precision.change], **estimate_event)

        def preview(source, files, folder, resolution):
            try:
                result = studio.preview_dataset(*self.dataset(source, files, folder), int(resolution))
            except Exception as exc:
                return error_message(exc), gr.Image(visible=False)
            skipped = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items()) or "none"
            text = f"**{result.num_images:,} usable images** · skipped: {skipped}"
            if result.examples:
                text += "\n\n" + "\n".join(f"- `{e}`" for e in result.examples[:5])
            return text, gr.Image(result.thumbnails, visible=True)

        self.preview.click(preview, [self.source, self.files, self.folder, self.resolution],
                           [self.preview_text, self.preview_grid], api_name="train_preview",
                           api_visibility="undocumented")  # undocumented: tests send hostile uploads through it

        def start(source, files, folder, name, *values):
            try:
                run = studio.start_training(self.request(*values), *self.dataset(source, files, folder), name)
            except Exception as exc:
                return error_message(exc), gr.skip(), gr.skip()
            queued = studio.run_view(run).status.get("state") == "queued"
            note = "queued: it starts when the current run ends" if queued else "started"
            return f"Run **{run}** {note}.", gr.Dropdown(choices=studio.run_names(), value=run), dict(UNSEEN)

        self.start.click(start, [self.source, self.files, self.folder, self.name, *self.form],
                         [self.start_message, self.run, self.shown], **PRIVATE)

    # ---- the live view of a run ----------------------------------------------------------------
    def _wire_monitor(self) -> None:
        studio = self.studio
        live_outputs = [self.status, self.grid, self.timeline, self.loss_plot, self.health_plot, self.log, self.shown]
        live = dict(fn=self.poll, inputs=[self.run, self.follow, self.shown], outputs=live_outputs,
                    show_progress="hidden", **PRIVATE)
        self.timer.tick(trigger_mode="always_last", **live)
        self.run.change(lambda: dict(UNSEEN), outputs=self.shown, **PRIVATE).then(**live)

        def listed(current):
            """The runs as they are now (a page opened after a run started would list them as at the app's
            start): ``current`` stays chosen, else the newest, so a reopened browser finds the run it left."""
            names = studio.run_names()
            return gr.Dropdown(choices=names, value=current if current in names else (names or [None])[0])

        self.refresh.click(listed, self.run, self.run, **PRIVATE)
        self.tab.select(listed, self.run, self.run, **PRIVATE)

        def scrub(name, position):
            grids = studio.run_view(name).grids if name else []
            return (str(grids[int(position)]) if 0 <= int(position) < len(grids) else gr.skip()), False

        self.timeline.input(scrub, [self.run, self.timeline], [self.grid, self.follow], show_progress="hidden",
                            **PRIVATE)

        def command(verb):
            def handler(name):
                try:
                    studio.control_run(name, verb)
                except Exception as exc:
                    return error_message(exc)
                return f"{verb} sent to **{name}**"
            return handler

        for button, verb in ((self.pause, "pause"), (self.resume, "resume"), (self.stop, "stop")):
            button.click(command(verb), self.run, self.control_message, **PRIVATE)

        def promote(name, new_name):
            try:
                target = studio.promote_run(name, new_name)
            except Exception as exc:
                return error_message(exc)
            return f"Promoted to `checkpoints/{target.name}` with a model card; it is in Explore's list now."

        self.promote.click(promote, [self.run, self.promote_name], self.control_message, **PRIVATE)

    def poll(self, name, following, seen):
        """Everything the live view shows; unchanged parts are skipped so polling stays cheap."""
        if not name:
            return [gr.skip()] * 6 + [seen]
        try:
            view = self.studio.run_view(name)
        except Exception as exc:
            return [error_message(exc)] + [gr.skip()] * 5 + [seen]
        failed = view.status.get("state") == "failed"
        log_update = gr.Code(value=view.status.get("log_tail", ""), visible=failed)
        grids, metrics = len(view.grids), len(view.metrics)
        grid_update = timeline_update = gr.skip()
        if grids != seen["grids"]:
            if following and view.grids:
                grid_update = str(view.grids[-1])
                timeline_update = gr.Slider(maximum=max(grids - 1, 1), value=grids - 1)
            else:
                timeline_update = gr.Slider(maximum=max(grids - 1, 1))
        plots = [gr.skip(), gr.skip()]
        if metrics != seen["metrics"]:
            plots = [curves(view.metrics, LOSS_SERIES), curves(view.metrics, HEALTH_SERIES)]
        return [status_html(view), grid_update, timeline_update, *plots, log_update,
                {"grids": grids, "metrics": metrics}]
