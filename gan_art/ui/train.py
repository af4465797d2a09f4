"""Train tab: set up a run, start it in a worker process, and watch grids and curves stream in."""
from __future__ import annotations

import html
import time

import gradio as gr
import pandas as pd

from gan_art.checkpoints import CheckpointError
from gan_art.config import ConfigError
from gan_art.data import DatasetError
from gan_art.runs import BUILTIN_FACES, BUILTIN_LICENSE, RunError, app_config, preview_dataset, stage_files
from gan_art.studio import Studio

SOURCES = ("Built-in faces (2,000 UTKFace photos)", "Upload images or a zip", "Folder on this server")
USER_ERRORS = (RunError, DatasetError, ConfigError, CheckpointError, ValueError, OSError)
LOSS_SERIES = {"loss_d": "D loss", "loss_g": "G loss"}
HEALTH_SERIES = {"d_real": "D(x)", "d_fake": "D(G(z))"}


def dataset_path(source: str, files: list[str] | None, folder: str | None, staging) -> str:
    if source == SOURCES[0]:
        return str(BUILTIN_FACES)
    if source == SOURCES[1]:
        return str(stage_files(files or [], staging()))
    if not folder:
        raise DatasetError("type the path of a folder (or zip) of images on this server")
    return folder.strip()


def status_html(view) -> str:
    status = view.status
    step, steps = status.get("step", 0), max(status.get("steps", 1), 1)
    state = status.get("state", "?")
    speed = status.get("images_per_s")
    eta = status.get("eta_s")
    parts = [f"<b>{html.escape(view.name)}</b> · <b>{state}</b> · step {step:,}/{steps:,}"]
    if speed:
        parts.append(f"{speed:.1f} images/s")
    if eta and state == "running":
        parts.append(f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}")
    quality = next((m["swd_avg"] for m in reversed(view.metrics) if "swd_avg" in m), None)
    if quality is not None:
        parts.append(f"SWD {quality:.1f}")
    message = html.escape(status.get("message") or "")
    bar = (f'<div style="background:#eee;border-radius:4px;height:10px;margin:6px 0"><div style="width:'
           f'{100 * min(step / steps, 1):.1f}%;background:#f97316;height:10px;border-radius:4px"></div></div>')
    return f'<div id="run-status">{" · ".join(parts)}{bar}<small>{message}</small></div>'


def curves(metrics: list[dict], series: dict[str, str]) -> pd.DataFrame:
    rows = [{"step": m["step"], "value": m[key], "series": label}
            for m in metrics for key, label in series.items() if key in m]
    return pd.DataFrame(rows or [{"step": 0, "value": 0.0, "series": next(iter(series.values()))}])


def build_train_tab(studio: Studio) -> None:
    runs = studio.runs
    with gr.Tab("Train"):
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                source = gr.Radio(list(SOURCES), value=SOURCES[0], label="Dataset")
                files = gr.File(label="Images or one zip", file_count="multiple", visible=False,
                                file_types=["image", ".zip"])
                folder = gr.Textbox(label="Folder or zip path on the server", visible=False)
                preview = gr.Button("Preview dataset")
                preview_text = gr.Markdown()
                preview_grid = gr.Image(label="First images", interactive=False, visible=False, height=240)
                arch = gr.Radio(["stylegan", "dcgan"], value="stylegan", label="Architecture",
                                info="stylegan: modern default (mapping network, R1, DiffAugment, EMA); "
                                     "dcgan: the classic 2016 recipe")
                with gr.Row():
                    resolution = gr.Dropdown([16, 32, 64, 128], value=32, label="Resolution (px)")
                    batch = gr.Slider(4, 128, value=32, step=4, label="Batch size")
                with gr.Row():
                    steps = gr.Number(2000, precision=0, minimum=1, label="Steps")
                    minutes = gr.Number(0, minimum=0, label="…or stop after minutes (0 = off)")
                with gr.Accordion("Advanced", open=False):
                    with gr.Row():
                        lr_g = gr.Number(0, minimum=0, label="G learning rate (0 = recipe default)")
                        lr_d = gr.Number(0, minimum=0, label="D learning rate (0 = recipe default)")
                    with gr.Row():
                        augment = gr.Checkbox(True, label="DiffAugment")
                        ema = gr.Checkbox(True, label="EMA generator")
                    with gr.Row():
                        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                        device = gr.Dropdown(["auto", "cpu", "cuda"], value="auto", label="Device",
                                             info="auto uses CUDA when present")
                    name = gr.Textbox(label="Run name (optional)", placeholder="letters, digits, - and _")
                start = gr.Button("▶ Start training", variant="primary")
                start_message = gr.Markdown()
            with gr.Column(scale=3):
                with gr.Row():
                    run = gr.Dropdown(runs.names(), value=(runs.names() or [None])[0], label="Run", scale=4)
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
        timer = gr.Timer(1.0)

    def show_source(choice):
        return gr.File(visible=choice == SOURCES[1]), gr.Textbox(visible=choice == SOURCES[2])

    source.change(show_source, source, [files, folder], api_name=False)

    def do_preview(choice, uploaded, path, res):
        try:
            data = dataset_path(choice, uploaded, path, studio.staging_dir)
            result = preview_dataset(data, min(int(res), 64))
        except USER_ERRORS as exc:
            return f"⚠️ {exc}", gr.Image(visible=False)
        skipped = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items()) or "none"
        text = f"**{result.num_images:,} usable images** · skipped: {skipped}"
        if result.examples:
            text += "\n\n" + "\n".join(f"- `{e}`" for e in result.examples[:5])
        return text, gr.Image(result.thumbnails, visible=True)

    preview.click(do_preview, [source, files, folder, resolution], [preview_text, preview_grid], api_name="preview")

    def do_start(choice, uploaded, path, arch_, res, batch_, steps_, minutes_, lr_g_, lr_d_, augment_, ema_,
                 seed_, device_, name_):
        try:
            if choice == SOURCES[1] and not uploaded:
                raise DatasetError("upload some images or one zip first")
            builtin = choice == SOURCES[0]
            data = str(BUILTIN_FACES) if builtin else ("" if choice == SOURCES[1] else (path or "").strip())
            cfg = app_config(data, arch_, res, batch_, steps_, minutes_, lr_g_, lr_d_, augment_, ema_,
                             seed_, device_, BUILTIN_LICENSE if builtin else "")
            run_name = (name_ or "").strip() or runs.new_name(f"{arch_}{int(res)}")
            runs.create(cfg, run_name, uploaded if choice == SOURCES[1] else None)
        except USER_ERRORS as exc:
            return f"⚠️ {exc}", gr.skip(), gr.skip()
        state = runs.view(run_name).status.get("state")
        note = "started" if state != "queued" else "queued: it starts when the current run ends"
        return f"Run **{run_name}** {note}.", gr.Dropdown(choices=runs.names(), value=run_name), {"grids": -1,
                                                                                                "metrics": -1}

    start.click(do_start, [source, files, folder, arch, resolution, batch, steps, minutes, lr_g, lr_d, augment, ema,
                           seed, device, name], [start_message, run, shown], api_name="start")

    def poll(name, following, seen):
        """Everything the live view shows; unchanged parts are skipped so polling stays cheap."""
        runs.schedule()  # a finished run frees the device for the next queued one
        if not name:
            return [gr.skip()] * 6 + [seen]
        try:
            view = runs.view(name)
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
    refresh.click(lambda current: gr.Dropdown(choices=runs.names(), value=current), run, run, api_name=False)

    def scrub(name, position):
        grids = runs.view(name).grids if name else []
        return (str(grids[int(position)]) if 0 <= int(position) < len(grids) else gr.skip()), False

    timeline.input(scrub, [run, timeline], [grid, follow], api_name=False, show_progress="hidden")

    def command(verb):
        def handler(name):
            try:
                runs.control(name, verb)
            except USER_ERRORS as exc:
                return f"⚠️ {exc}"
            return f"{verb} sent to **{name}**"
        return handler

    for button, verb in ((pause, "pause"), (resume, "resume"), (stop, "stop")):
        button.click(command(verb), run, control_message, api_name=verb)

    def do_promote(name, new_name):
        try:
            target = runs.promote(name, studio.checkpoints_root, (new_name or "").strip())
        except USER_ERRORS as exc:
            return f"⚠️ {exc}"
        return f"Promoted to `checkpoints/{target.name}` with a model card; it is in Explore's list now."

    promote.click(do_promote, [run, promote_name], control_message, api_name="promote")
