"""The named API beside the UI: one endpoint per main action, a few named parameters, each documented
(``gradio_client.Client(url).view_api()`` prints these docstrings).

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    run = client.predict(resolution=16, steps=200, api_name="/train_start")
    client.predict(run=run, api_name="/train_status")
"""
import functools

import gradio as gr

from gan_art.runs import RunError, TrainRequest
from gan_art.studio import Studio

USER_ERRORS = (RunError, ValueError, OSError)


def _user_errors(fn):
    """Errors a caller can fix come back as a message (gradio_client raises AppError with it)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from None

    return wrapped


def add_api(studio: Studio) -> None:
    """Register the named endpoints (inside the app's gr.Blocks)."""

    def train_start(dataset: str = "builtin", arch: str = "stylegan", resolution: int = 32, batch_size: int = 32,
                    steps: int = 0, seed: int = 0, precision: str = "auto", name: str = "") -> str:
        """Start a training run (queued if another run is active) and return its name.

        Args:
            dataset: "builtin" (2,000 UTKFace faces that ship with the app) or a folder or zip of images on the server
            arch: "stylegan" (modern default) or "dcgan" (classic 2016 recipe)
            resolution: image side in pixels (16, 32, 64 or 128)
            batch_size: images per step
            steps: optimiser steps; 0 = a run of about 12 minutes on this machine
            seed: seeds the weights, the data order and the sample-grid latents
            precision: "auto" (fastest measured on this machine), "fp32", "bf16" or "fp16"
            name: run name (letters, digits, - and _); empty = generated
        """
        request = TrainRequest(arch=arch, resolution=int(resolution), batch_size=int(batch_size), steps=int(steps),
                               seed=int(seed), precision=precision)
        return studio.start_training(request, dataset, None, name)

    def train_status(run: str) -> dict:
        """State of a run: state, step, steps, images_per_s, eta_s, precision (and why), message, sample_grids
        (how many fixed-latent grids exist), checkpoint (newest, or empty).

        Args:
            run: run name, as returned by /train_start
        """
        view = studio.run_view(run)
        return {**{k: v for k, v in view.status.items() if k != "log_tail"}, "sample_grids": len(view.grids),
                "checkpoint": view.checkpoint.name if view.checkpoint else ""}

    def train_control(run: str, command: str = "stop") -> str:
        """Pause, resume or stop a run; a stop writes a checkpoint first. Returns the state after the request.

        Args:
            run: run name
            command: "pause", "resume" or "stop"
        """
        studio.control_run(run, command)
        return studio.run_view(run).status.get("state", "")

    for fn in (train_start, train_status, train_control):
        gr.api(_user_errors(fn), api_name=fn.__name__, concurrency_id="train-api", concurrency_limit=4)
