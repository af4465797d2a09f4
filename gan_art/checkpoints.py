"""Self-describing checkpoints: a folder of ``config.json`` + weight files. Nothing is unpickled.

Every checkpoint, of every kind, has one schema::

    config.json   {"format": "gan-art-checkpoint", "format_version": 1, "kind": KIND,
                   "model": {fields of the kind's network config}, ...provenance, training, metrics}
    weights       the kind's files (KINDS), e.g. generator.safetensors for a generator;
                  training_state.safetensors beside them in run checkpoints (raw G, D, optimisers)

``read_config(path, kind)`` checks the format, its version and the kind on every load. Generator
checkpoints written before "kind" existed are read as generators.

Folders are written under a temporary name and renamed into place, so a killed process leaves either
the previous checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gan_art import __version__
from gan_art.config import ModelConfig, from_dict
from gan_art.errors import CheckpointError, ConfigError
from gan_art.models import build_generator
from gan_art.models.classifier import ClassifierConfig
from gan_art.models.inpaint import InpainterConfig
from gan_art.models.segmenter import SegmenterConfig
from gan_art.models.upscaler import UpscalerConfig

FORMAT = "gan-art-checkpoint"
FORMAT_VERSION = 1
GENERATOR_FILE = "generator.safetensors"
STATE_FILE = "training_state.safetensors"


@dataclass(frozen=True)
class Kind:
    """What a checkpoint kind holds: its weight files and the dataclass of its "model" section."""

    files: tuple[str, ...]
    config: type | None = None  # None: a fixed architecture (third-party weights)


KINDS = {
    "generator": Kind((GENERATOR_FILE,), ModelConfig),
    "inpainter": Kind(("inpainter.safetensors",), InpainterConfig),
    "segmenter": Kind(("segmenter.safetensors",), SegmenterConfig),
    "upscaler": Kind(("upscaler.safetensors",), UpscalerConfig),  # fidelity.* and detailed.* weights
    "attribute-classifiers": Kind(("classifier-a.safetensors", "classifier-b.safetensors"), ClassifierConfig),
    "vgg16-features": Kind(("vgg16_features.safetensors",)),
    "magenta-style": Kind(("style_predict.onnx", "style_transform.onnx")),
    "mtcnn": Kind(("pnet.safetensors", "rnet.safetensors", "onet.safetensors")),
}
WEIGHTS_FILES = {name: kind.files[0] for name, kind in KINDS.items()}  # the main weights file of each kind



def versions() -> dict:
    return {"gan_art": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Write a safetensors file and fsync it (callers rename it into place when it must be atomic)."""
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path))
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    os.chmod(path, 0o644)  # safetensors creates 0600 files; checkpoints are meant to be shared


def write_checkpoint(path: Path, config: dict, generator: nn.Module | dict[str, torch.Tensor],
                     dtype: torch.dtype | None = None, training_state: dict[str, torch.Tensor] | None = None,
                     weights_file: str = GENERATOR_FILE) -> Path:
    """Atomically write a checkpoint folder; ``dtype`` (e.g. float16) casts the module's float tensors.

    ``generator`` is the module (or its state dict) to save as ``weights_file``; other model kinds
    than generators name their own file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        state = generator if isinstance(generator, dict) else generator.state_dict()
        weights = {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v for k, v in state.items()}
        save_tensors(weights, tmp / weights_file)
        if training_state is not None:
            save_tensors(training_state, tmp / STATE_FILE)
        config = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "generator", "versions": versions(),
                  "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **config}
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))  # written last: complete
        _fsync_dir(tmp)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"could not write checkpoint {path.name} ({exc.strerror or exc}); the previous "
                              "checkpoint is kept. Free some disk space and resume.") from exc
    if path.exists():  # replace: move the old one aside first so the swap itself is a rename
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
    _fsync_dir(path.parent)
    return path


def read_config(path: Path, kind: str | None = None) -> dict:
    """Read and validate a checkpoint's ``config.json`` (format, version and, when given, its ``kind``)."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} not found: expected a folder with config.json and safetensors "
                              "weights")
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} has no config.json; is it a gan_art checkpoint folder?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}/config.json is damaged: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path}/config.json is not a {FORMAT} config")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version}; this gan_art reads version "
                              f"{FORMAT_VERSION}. Convert it with the gan_art version that wrote it.")
    config.setdefault("kind", "generator")  # generator checkpoints predate the field
    if config["kind"] not in KINDS:
        raise CheckpointError(f"{path} holds an unknown kind of checkpoint {config['kind']!r}; "
                              f"this gan_art knows {sorted(KINDS)}")
    if kind is not None and config["kind"] != kind:
        raise CheckpointError(f"{path} is a {config['kind']} checkpoint, not a {kind}")
    return config


def network_config(config: dict):
    """The kind's network config (e.g. :class:`ModelConfig` for a generator) from a checkpoint's "model" section."""
    cls = KINDS[config.get("kind", "generator")].config
    try:
        return from_dict(cls, config.get("model", {}))
    except (TypeError, ConfigError) as exc:
        raise CheckpointError(f"config.json has no valid model section: {exc}") from None


def model_config(config: dict) -> ModelConfig:
    """The :class:`ModelConfig` of a generator checkpoint."""
    if config.get("kind", "generator") != "generator":
        raise CheckpointError(f"this is a {config['kind']} checkpoint, not a generator")
    return network_config(config)


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file with a clear error when it is missing or damaged."""
    if not file.is_file():
        raise CheckpointError(f"{file} is missing")
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file} is damaged or not a safetensors file: {exc}") from None


def fine_tuned_from(config: dict) -> Path | None:
    """The checkpoint folder a generator was fine-tuned from (its run's ``train.init_from``), if any."""
    parent = config.get("train", {}).get("init_from")
    return Path(parent) if parent else None


def named_upscaler(config: dict, generations: int = 8) -> str:
    """The upscaler a generator's config names, else the one of the model it was fine-tuned from (train.init_from),
    and so on up: a fine-tune keeps its parent's upscaler. Measured on hold-out faces in the sketch and old-photo
    looks of issue 24, the face upscaler restores them from 64 px closer than Lanczos does
    (benchmarks/upscale_quality.py --look). ``generations`` bounds the walk: an edited init_from may name itself."""
    name = config.get("upscaler", "")
    parent = fine_tuned_from(config)
    if name or parent is None or generations == 0:
        return name
    try:
        return named_upscaler(read_config(parent), generations - 1)
    except CheckpointError:  # the parent moved or is damaged: the fine-tune shows its own 64 px
        return ""


def load_weights(module: nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Copy ``tensors`` into ``module`` (casting dtype), naming what does not match."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{source} does not match the architecture in config.json: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})


@dataclass
class Checkpoint:
    """A loaded generator with its config; ``id`` is a short hash of its weights for recipes."""

    path: Path
    config: dict
    model: ModelConfig
    generator: nn.Module
    id: str


def load_network(path: str | Path, kind: str, build, weights_file: str | None = None) -> nn.Module:
    """A ``kind`` checkpoint's network: ``build(network config)`` with the weights loaded, eval mode, frozen."""
    path = Path(path)
    config = read_config(path, kind)
    module = build(network_config(config))
    file = path / (weights_file or KINDS[kind].files[0])
    load_weights(module, read_tensors(file), file)
    return module.eval().requires_grad_(False)


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load the EMA generator of a checkpoint folder, in fp32, eval mode."""
    path = Path(path)
    config = read_config(path, "generator")
    cfg = model_config(config)
    generator = build_generator(cfg)
    weights_file = path / GENERATOR_FILE
    load_weights(generator, read_tensors(weights_file), weights_file)
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()[:12]
    # channels_last: oneDNN's fastest layout for these convolutions (about 15% off an Explore render on a CPU)
    generator = generator.to(device, memory_format=torch.channels_last).eval().requires_grad_(False)
    return Checkpoint(path=path, config=config, model=cfg, generator=generator, id=digest)


def flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimiser state dict into safetensors-able tensors and JSON-able rest."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.state.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    """Inverse of :func:`flatten_optimizer`, loading into ``optimizer``."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + ".state."):
            index, key = name[len(prefix) + 7:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def recover_checkpoints(root: str | Path) -> None:
    """Finish or discard what a killed writer left in ``root`` (hidden .NAME.tmp-PID / .NAME.old-PID folders).

    A complete temporary folder (its config.json is written last) whose final name is missing is
    moved into place, newest first; everything else left over is deleted.
    """
    root = Path(root)
    if not root.is_dir():
        return
    leftovers = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith(".")
                        and (".tmp-" in p.name or ".old-" in p.name)), key=lambda p: ".old-" in p.name)
    for folder in leftovers:
        final = root / folder.name[1:].rsplit(".tmp-" if ".tmp-" in folder.name else ".old-", 1)[0]
        if not final.exists() and (folder / "config.json").is_file():
            folder.rename(final)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def list_checkpoints(root: str | Path, weights_file: str = GENERATOR_FILE) -> list[Path]:
    """Checkpoint folders directly inside ``root`` (complete ones only), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "config.json").is_file() and (p / weights_file).is_file())


def model_card(name: str, config: dict) -> str:
    """A short Markdown model card from a checkpoint's config (data, licence, training, metrics)."""
    model, data = config["model"], config.get("data", {})
    architecture = (f"`{model['arch']}`, {model['resolution']}x{model['resolution']} px, z_dim {model['z_dim']}, "
                    f"w_dim {model['w_dim']}, width {model['width']}" if "arch" in model
                    else f"`{config.get('kind')}` {json.dumps(model) if model else '(default size)'}")
    training = f"{config.get('step', 0)} steps"
    if "images_seen" in config:  # only GAN runs record their compute; Repair cards state it by hand
        training += (f", {config['images_seen'] / 1000:.0f} kimg, {config.get('train_seconds', 0) / 3600:.2f} h "
                     f"on {config.get('hardware', 'unknown hardware')}")
    images = data.get("num_images", data.get("train_images", "?"))
    lines = [
        f"# {name}", "",
        f"- Architecture: {architecture}",
        f"- Training: {training}",
        *([f"- Fine-tuned from: `{parent.name}` (its weights at step 0, transfer recipe)"]
          if (parent := fine_tuned_from(config)) else []),
        f"- Data: {images} images from `{Path(str(data.get('source', '?'))).name}` "
        f"({data.get('num_skipped', 0)} files skipped)",
        f"- Licence of the training data: {config.get('license', 'unknown')}",
        f"- Last training metrics: {json.dumps(config.get('metrics', {}))}", "",
        "Weights in safetensors (float16); the training configuration and provenance are in `config.json`.",
    ]
    return "\n".join(lines) + "\n"


def export_checkpoint(source: str | Path, destination: str | Path, dtype: torch.dtype = torch.float16,
                      card: str | None = None, with_training_state: bool = False) -> Path:
    """Copy a run checkpoint's main weights to a lean, shippable folder + model card.

    ``with_training_state`` also keeps the raw G and D weights (float16, no optimiser moments) so a later
    session can continue training from the shipped folder (``train --resume-from``).
    """
    source = Path(source)
    config = read_config(source)
    weights_file = WEIGHTS_FILES[config["kind"]]
    if not weights_file.endswith(".safetensors"):
        raise CheckpointError(f"{source} is a {config['kind']} checkpoint; only trained safetensors kinds export")
    tensors = read_tensors(source / weights_file)
    if weights_file == GENERATOR_FILE:
        load_weights(build_generator(model_config(config)), tensors, source / weights_file)  # refuse a mismatch
    drop = ("training_state", "optimizers", "format", "format_version", "versions", "saved_at")
    config = {k: v for k, v in config.items() if k not in drop}
    config["exported_from"] = {"path": str(source),
                               "weights_sha256": hashlib.sha256((source / weights_file).read_bytes()).hexdigest()[:12]}
    destination = Path(destination)
    state = None
    if with_training_state:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in read_tensors(source / STATE_FILE).items()
                 if k.startswith(("G.", "D."))}
    write_checkpoint(destination, config, tensors, dtype=dtype, weights_file=weights_file, training_state=state)
    (destination / "MODEL_CARD.md").write_text(card or model_card(destination.name, config))
    return destination
