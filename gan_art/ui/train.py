"""Train tab: set up a run, start it in a worker process, and watch grids and curves stream in."""
from __future__ import annotations

import html
import time

import gradio as gr
import pandas as pd

from gan_art.checkpoints import CheckpointError
from gan_art.config import ConfigError
from gan_art.data import DatasetError
from gan_art.runs import RunError, TrainRequest
from gan_art.studio import Studio

SOURCES = ("Built-in faces (2,000 UTKFace photos)", "Upload images or a zip", "Folder on this server")
USER_ERRORS = (RunError, DatasetError, ConfigError, CheckpointError, ValueError, OSError)
LOSS_SERIES = {"loss_d": "D loss", "loss_g": "G loss"}
HEALTH_SERIES = {"d_real": "D(x)", "d_fake": "D(G(z))"}


def dataset_choice(source: str, folder: str | None) -> str:
    return Studio.BUILTIN_DATASET if source == SOURCES[0] else (folder or "")


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def estimate_text(estimate, steps: int, batch_size: int) -> str:
    choice = estimate.choice
    note = choice.reason if estimate.precision == choice.precision else f"{estimate.precision} (your choice)"
    return (f"Expected here: **{estimate.images_per_s:.0f} images/s** · precision {note} · "
            f"{int(steps):,} steps ≈ **{duration(estimate.eta_s(int(steps), batch_size))}**")


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


def curves(metrics: list[dict], series: dict[str, str]) -> pd.DataFrame:
    rows = [{"step": m["step"], "value": m[key], "series": label}
            for m in metrics for key, label in series.items() if key in m]
    return pd.DataFrame(rows or [{"step": 0, "value": 0.0, "series": next(iter(series.values()))}])


def build_train_tab(studio: Studio) -> None:
    defaults = studio.train_defaults()
    names = studio.run_names()
    with gr.Tab("Train", id="train") as tab:
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                source = gr.Radio(list(SOURCES), value=SOURCES[0], label="Dataset")
                files = gr.File(label="Images or one zip", file_count="multiple", visible=False,
                                file_types=["image", ".zip"])
                folder = gr.Textbox(label="Folder or zip path on the server", visible=False)
                preview = gr.Button("Preview dataset")
                preview_text = gr.Markdown()
                preview_grid = gr.Image(label="First images", interactive=False, visible=False, height=240)
                arch = gr.Radio(["stylegan", "dcgan"], value=defaults.arch, label="Architecture",
                                info="stylegan: modern default (mapping network, R1, DiffAugment, EMA); "
                                     "dcgan: the classic 2016 recipe")
                with gr.Row():
                    resolution = gr.Dropdown([16, 32, 64, 128], value=defaults.resolution, label="Resolution (px)")
                    batch = gr.Slider(4, 128, value=defaults.batch_size, step=4, label="Batch size")
                with gr.Row():
                    steps = gr.Number(1000, precision=0, minimum=1, label="Steps",
                                      info=f"set to a run of about {defaults.minutes:.0f} minutes on this machine")
                    minutes = gr.Number(0, minimum=0, label="…or stop after minutes (0 = off)")
                estimate = gr.Markdown("Measuring this machine's training speed…", elem_id="train-estimate")
                with gr.Accordion("Advanced", open=False):
                    with gr.Row():
                        lr_g = gr.Number(0, minimum=0, label="G learning rate (0 = recipe default)")
                        lr_d = gr.Number(0, minimum=0, label="D learning rate (0 = recipe default)")
                    with gr.Row():
                        augment = gr.Checkbox(defaults.augment, label="DiffAugment")
                        ema = gr.Checkbox(defaults.ema, label="EMA generator")
                    with gr.Row():
                        seed = gr.Number(defaults.seed, precision=0, minimum=0, label="Seed")
                        device = gr.Dropdown(["auto", "cpu", "cuda"], value=defaults.device, label="Device",
                                             info="auto uses CUDA when present")
                        precision = gr.Dropdown(["auto", "fp32", "bf16", "fp16"], value=defaults.precision,
                                                label="Precision",
                                                info="auto: the fastest measured on this machine")
                    name = gr.Textbox(label="Run name (optional)", placeholder="letters, digits, - and _")
                start = gr.Button("▶ Start training", variant="primary")
                start_message = gr.Markdown()
            with gr.Column(scale=3):
                with gr.Row():
                    run = gr.Dropdown(names, value=(names or [None])[0], label="Run", scale=4)
                    refresh = gr.Button("↻", scale=0, size="sm")
                status = gr.HTML(elem_id="train-status")
                with gr.Row():
                    pause = gr.Button("⏸ Pause")
                    resume = gr.Button("⏵ Resume")
                    stop = gr.Button("⏹ Stop")
                grid = gr.Image(label="Latest fixed-latent samples", interactive=False, height=400,
                                elem_id="train-grid", type="filepath")
                with gr.Row():
                    timeline = gr.Slider(0, 1, value=0, step=1, label="Timeline: earlier sample grids", scale=4)
                    follow = gr.Checkbox(True, label="Follow the newest grid", scale=1)
                with gr.Row():
                    loss_plot = gr.LinePlot(x="step", y="value", color="series", label="Losses", height=220)
                    health_plot = gr.LinePlot(x="step", y="value", color="series", label="D(x) and D(G(z))",
                                              height=220, y_lim=[0, 1])
                log = gr.Code(label="Worker log (last lines)", visible=False, language=None)
                with gr.Row():
                    promote_name = gr.Textbox(label="Promote into checkpoints/ as", scale=3)
                    promote = gr.Button("Promote", scale=1)
                control_message = gr.Markdown()
        shown = gr.State({"grids": -1, "metrics": -1})
        steps_chosen = gr.State(False)  # True once the user typed a step count: estimates stop refitting it
        timer = gr.Timer(1.0)

    def request(arch_, res, batch_, steps_, minutes_, lr_g_, lr_d_, augment_, ema_, seed_, device_, precision_):
        return TrainRequest(arch=arch_, resolution=int(res), batch_size=int(batch_), steps=int(steps_ or 0),
                            minutes=defaults.minutes, max_minutes=float(minutes_ or 0), lr_g=float(lr_g_ or 0),
                            lr_d=float(lr_d_ or 0), augment=bool(augment_), ema=bool(ema_), seed=int(seed_ or 0),
                            device=device_, precision=precision_)

    form = [arch, resolution, batch, steps, minutes, lr_g, lr_d, augment, ema, seed, device, precision]

    def show_source(choice):
        return gr.File(visible=choice == SOURCES[1]), gr.Textbox(visible=choice == SOURCES[2])

    source.change(show_source, source, [files, folder], api_name=False)

    def do_estimate(chosen, *values):
        """The expected speed and ETA; a step count the user has not typed is refitted to the default length."""
        try:
            wanted = request(*values)
            found = studio.estimate_training(wanted)
        except USER_ERRORS as exc:
            return f"⚠️ {exc}", gr.skip()
        fitted = wanted.steps if chosen else found.steps_for(wanted.minutes, wanted.batch_size)
        return estimate_text(found, fitted, wanted.batch_size), (gr.skip() if chosen else fitted)

    estimate_event = dict(fn=do_estimate, inputs=[steps_chosen, *form], outputs=[estimate, steps],
                          show_progress="minimal", concurrency_id="train-estimate", concurrency_limit=1,
                          trigger_mode="always_last", api_name=False)
    steps.input(lambda: True, outputs=steps_chosen, api_name=False).then(**estimate_event)
    gr.on([tab.select, arch.change, resolution.change, batch.change, device.change, precision.change],
          **estimate_event)

    def do_preview(choice, uploaded, path, res):
        try:
            if choice == SOURCES[1] and not uploaded:
                raise DatasetError("upload some images or one zip first")
            result = studio.preview_dataset(dataset_choice(choice, path), uploaded if choice == SOURCES[1] else None,
                                            int(res))
        except USER_ERRORS as exc:
            return f"⚠️ {exc}", gr.Image(visible=False)
        skipped = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items()) or "none"
        text = f"**{result.num_images:,} usable images** · skipped: {skipped}"
        if result.examples:
            text += "\n\n" + "\n".join(f"- `{e}`" for e in result.examples[:5])
        return text, gr.Image(result.thumbnails, visible=True)

    preview.click(do_preview, [source, files, folder, resolution], [preview_text, preview_grid], api_name="preview")

    def do_start(choice, uploaded, path, name_, *values):
        try:
            if choice == SOURCES[1] and not uploaded:
                raise DatasetError("upload some images or one zip first")
            run_name = studio.start_training(request(*values), dataset_choice(choice, path),
                                             uploaded if choice == SOURCES[1] else None, name_)
        except USER_ERRORS as exc:
            return f"⚠️ {exc}", gr.skip(), gr.skip()
        state = studio.run_view(run_name).status.get("state")
        note = "started" if state != "queued" else "queued: it starts when the current run ends"
        return (f"Run **{run_name}** {note}.", gr.Dropdown(choices=studio.run_names(), value=run_name),
                {"grids": -1, "metrics": -1})

    start.click(do_start, [source, files, folder, name, *form], [start_message, run, shown], api_name="start")

    def poll(name, following, seen):
        """Everything the live view shows; unchanged parts are skipped so polling stays cheap."""
        if not name:
            return [gr.skip()] * 6 + [seen]
        try:
            view = studio.run_view(name)
        except USER_ERRORS as exc:
            return [f"⚠️ {exc}"] + [gr.skip()] * 5 + [seen]
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

    live_outputs = [status, grid, timeline, loss_plot, health_plot, log, shown]
    timer.tick(poll, [run, follow, shown], live_outputs, show_progress="hidden", api_name="poll",
               trigger_mode="always_last")
    run.change(lambda: {"grids": -1, "metrics": -1}, outputs=shown, api_name=False).then(
        poll, [run, follow, shown], live_outputs, show_progress="hidden", api_name=False)
    refresh.click(lambda current: gr.Dropdown(choices=studio.run_names(), value=current), run, run, api_name=False)

    def scrub(name, position):
        grids = studio.run_view(name).grids if name else []
        return (str(grids[int(position)]) if 0 <= int(position) < len(grids) else gr.skip()), False

    timeline.input(scrub, [run, timeline], [grid, follow], api_name=False, show_progress="hidden")

    def command(verb):
        def handler(name):
            try:
                studio.control_run(name, verb)
            except USER_ERRORS as exc:
                return f"⚠️ {exc}"
            return f"{verb} sent to **{name}**"
        return handler

    for button, verb in ((pause, "pause"), (resume, "resume"), (stop, "stop")):
        button.click(command(verb), run, control_message, api_name=verb)

    def do_promote(name, new_name):
        try:
            target = studio.promote_run(name, new_name)
        except USER_ERRORS as exc:
            return f"⚠️ {exc}"
        return f"Promoted to `checkpoints/{target.name}` with a model card; it is in Explore's list now."

    promote.click(do_promote, [run, promote_name], control_message, api_name="promote")
