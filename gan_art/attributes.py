"""Face attribute classifiers (gender, age) trained on labelled faces, to find labelled directions.

Two classifiers are trained on disjoint halves of the labelled images: ``a`` finds the latent
directions, ``b`` (which never saw a's training images) independently checks them, and each one's
accuracy is measured on the other half.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_art.checkpoints import FORMAT, FORMAT_VERSION, load_network, save_tensors
from gan_art.config import save_json, to_dict
from gan_art.data import load_images
from gan_art.images import to_float
from gan_art.models.classifier import AttributeClassifier, ClassifierConfig
from gan_art.paths import ATTRIBUTES, CHECKPOINTS

ATTRIBUTE_NAMES = ("gender", "age")  # output 0: logit of female (UTKFace gender 1); output 1: age / 10 years
AGE_SCALE = 10.0


def read_labels(csv_path: str | Path) -> dict[str, tuple[float, float]]:
    """UTKFace labels.csv -> {file name: (gender, age)}."""
    with open(csv_path, newline="") as f:
        return {row["file"]: (float(row["gender"]), float(row["age"])) for row in csv.DictReader(f)}


def labelled_images(data: str | Path, csv_path: str | Path, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images and (N, 2) float targets [gender, age] for the images that have labels."""
    images, summary = load_images(data, resolution)
    labels = read_labels(csv_path)
    keep = [i for i, name in enumerate(summary.names) if Path(name).name in labels]
    targets = torch.tensor([labels[Path(summary.names[i]).name] for i in keep])
    return images[keep], targets


def training_halves(count: int) -> dict[str, torch.Tensor]:
    """Indices (into the labelled images) that classifiers a and b train on: a fixed split, so that which
    faces each one saw can be restated later."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(0))
    return {"a": order[: count // 2], "b": order[count // 2:]}


def faces_seen_by(classifier: str, data: str | Path, csv_path: str | Path) -> set[str]:
    """File names of the faces ``classifier`` ("a" or "b") trained on, given the data and labels it was fitted
    with (its card names them): to evaluate with it on faces it never saw."""
    _, summary = load_images(data, 8)
    labels = read_labels(csv_path)
    labelled = [Path(name).name for name in summary.names if Path(name).name in labels]
    return {labelled[i] for i in training_halves(len(labelled))[classifier].tolist()}


def classifier_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    gender = F.binary_cross_entropy_with_logits(outputs[:, 0], targets[:, 0])
    age = F.smooth_l1_loss(outputs[:, 1], targets[:, 1] / AGE_SCALE)
    return gender + age


def train_classifier(images: torch.Tensor, targets: torch.Tensor, seed: int, epochs: int = 6,
                     batch_size: int = 64, on_progress: Callable[[int, float], None] | None = None
                     ) -> AttributeClassifier:
    """Train on uint8 images with [gender, age] targets; random flips and small shifts as augmentation."""
    torch.manual_seed(seed)
    model = AttributeClassifier(ClassifierConfig(resolution=images.shape[-1])).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * math.ceil(len(images) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    rng = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=rng)
        total = 0.0
        for start in range(0, len(images), batch_size):
            index = order[start:start + batch_size]
            x = to_float(images[index])
            x = torch.where(torch.rand(len(x), 1, 1, 1, generator=rng) < 0.5, x.flip(3), x)
            shift = torch.randint(-3, 4, (2,), generator=rng).tolist()
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            loss = classifier_loss(model(x), targets[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            total += loss.item() * len(index)
        if on_progress is not None:
            on_progress(epoch + 1, total / len(images))
    return model.eval().requires_grad_(False)


@torch.no_grad()
def predict(model: AttributeClassifier, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, 2) scores of uint8 images: [gender logit (female > 0), age in years]."""
    outputs = torch.cat([model(to_float(chunk)) for chunk in images.split(batch_size)])
    return torch.stack([outputs[:, 0], outputs[:, 1] * AGE_SCALE], 1)


def accuracy(model: AttributeClassifier, images: torch.Tensor, targets: torch.Tensor) -> dict:
    scores = predict(model, images)
    return {"gender_accuracy": round(float(((scores[:, 0] > 0).float() == targets[:, 0]).float().mean()), 4),
            "age_mae_years": round(float((scores[:, 1] - targets[:, 1]).abs().mean()), 2)}


def save_classifiers(folder: str | Path, models: dict[str, AttributeClassifier], card: dict) -> None:
    """Both classifiers as one attribute-classifiers checkpoint (float16) with ``card`` in its config.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        save_tensors({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                      folder / f"classifier-{name}.safetensors")
    save_json(folder / "config.json", {"format": FORMAT, "format_version": FORMAT_VERSION,
                                       "kind": "attribute-classifiers", **card})


def load_classifier(folder: str | Path = CHECKPOINTS / ATTRIBUTES, name: str = "a") -> AttributeClassifier:
    """Classifier ``name`` ("a" finds directions, "b" checks them) of an attribute-classifiers checkpoint."""
    return load_network(folder, "attribute-classifiers", AttributeClassifier, f"classifier-{name}.safetensors")


def fit_classifiers(data: str | Path, labels: str | Path, out: str | Path, resolution: int = 64,
                    epochs: int = 6, log: Callable[[str], None] = print) -> dict:
    """Train classifiers a and b on disjoint halves; save them with their cross-validated accuracy."""
    images, targets = labelled_images(data, labels, resolution)
    halves = training_halves(len(images))
    models, report = {}, {}
    for name, index in halves.items():
        other = halves["b" if name == "a" else "a"]
        def report_epoch(epoch: int, loss: float, n: str = name) -> None:
            log(f"classifier {n} epoch {epoch} loss {loss:.4f}")

        models[name] = train_classifier(images[index], targets[index], seed=len(models), epochs=epochs,
                                        on_progress=report_epoch)
        report[name] = {"trained_on": len(index), **accuracy(models[name], images[other], targets[other])}
        log(f"classifier {name}: {report[name]}")
    model_config = to_dict(ClassifierConfig(resolution=resolution))
    card = {"model": model_config, "attributes": list(ATTRIBUTE_NAMES), "epochs": epochs, "data": str(Path(data).name),
            "labels": str(Path(labels).name), "held_out_accuracy": report,
            "license": "trained on UTKFace: non-commercial research use only"}
    save_classifiers(out, models, card)
    return card
