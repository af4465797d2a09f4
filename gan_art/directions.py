"""Semantic directions in the intermediate latent space w, computed once per checkpoint and cached.

* principal directions (GANSpace, Härkönen et al. 2020): PCA of w over many sampled z;
* labelled directions (InterFaceGAN, Shen et al. 2020): a linear fit in w of an attribute
  classifier's scores on generated faces (age, gender), age made orthogonal to gender;
* custom directions: a named combination of slider values saved by a user.

A direction's vector is the w offset of one slider unit, scaled to one standard deviation of w
along it, so that slider values are comparable across directions (+-3 is a strong edit).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from gan_art.attributes import predict
from gan_art.checkpoints import read_tensors, save_tensors
from gan_art.config import save_json
from gan_art.errors import CheckpointError, DirectionError
from gan_art.explore import Direction, sample_w
from gan_art.images import to_uint8

DIRECTIONS_FILE = "directions.safetensors"
DIRECTIONS_META = "directions.json"
DIRECTIONS_VERSION = 1  # of directions.json; checked on load like a checkpoint's format_version
CUSTOM_DIR = "custom-directions"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$")



def _canonical_sign(vectors: torch.Tensor) -> torch.Tensor:
    # SVD signs are arbitrary; fix them so the same samples always give the same directions
    index = vectors.abs().argmax(1)
    signs = vectors.gather(1, index[:, None]).sign()
    return vectors * signs


def pca_directions(generator: nn.Module, num_components: int = 12, num_samples: int = 20_000,
                   seed: int = 0) -> list[Direction]:
    """The principal axes of w, largest variance first, each scaled to its standard deviation."""
    w = sample_w(generator, num_samples, seed).double()
    centered = w - w.mean(0)
    _, singular, vh = torch.linalg.svd(centered, full_matrices=False)
    stds = singular / (len(w) - 1) ** 0.5
    k = min(num_components, vh.shape[0])
    vectors = _canonical_sign(vh[:k])
    return [Direction(f"PC{i + 1}", "pca", (vectors[i] * stds[i]).float(),
                      f"principal direction {i + 1} of w ({100 * stds[i] ** 2 / stds.square().sum():.1f}% of variance)")
            for i in range(k)]


def fit_linear_direction(w: torch.Tensor, scores: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """Unit normal of the least-squares linear fit scores ~ w @ beta (ridge-regularised), (w_dim,)."""
    w = w.double() - w.double().mean(0)
    y = scores.double() - scores.double().mean()
    gram = w.T @ w / len(w)
    beta = torch.linalg.solve(gram + ridge * torch.eye(len(gram), dtype=gram.dtype) * gram.trace() / len(gram),
                              w.T @ y / len(w))
    return beta / beta.norm()


def labelled_directions(generator: nn.Module, classifier: nn.Module, num_samples: int = 10_000, seed: int = 1,
                        batch_size: int = 100) -> list[Direction]:
    """Age and gender directions from classifier scores of generated faces (psi = 1)."""
    w = sample_w(generator, num_samples, seed)
    num_ws = generator.num_ws
    scores = []
    with torch.no_grad():
        for chunk in w.split(batch_size):
            images = generator.synthesis(chunk[:, None, :].expand(-1, num_ws, -1))
            scores.append(predict(classifier, to_uint8(images)))
    scores = torch.cat(scores)
    gender = fit_linear_direction(w, scores[:, 0].clamp(-8, 8))
    age = fit_linear_direction(w, scores[:, 1])
    age = age - (age @ gender) * gender  # conditional edit: changing age should not change gender
    age = age / age.norm()
    centered = (w - w.mean(0)).double()
    result = []
    fits = (("age", age, scores[:, 1], "years"), ("gender", gender, scores[:, 0], "logit"))
    for name, unit, score, unit_name in fits:
        std = (centered @ unit).std()
        slope = fit_slope(centered @ unit / std, score)
        description = (f"older (+{slope:.1f} {unit_name} per unit)" if name == "age"
                       else f"more female (+{slope:.2f} {unit_name} per unit)")
        result.append(Direction(name, "labelled", (unit * std).float(), description))
    return result


ATTRIBUTE_OUTPUT = {"gender": 0, "age": 1}  # the attribute classifier's output for each labelled direction
KEEP_INHERITED = 0.8  # a labelled slider of a fine-tune is offered if it moves its attribute on this share of faces
# A parent's direction that moves it on this share stays as it is; below, it is fitted again on the fine-tune's faces
# and the one that moves more stays: on a sketch fine-tune the face model's gender moved 78 % of faces, the
# refitted one 98 % (80 % / 96.5 % by an independent classifier; a sketch fine-tune of 840 steps, session 26)
TRUST_INHERITED = 0.9
REFIT_FACES = 2000  # faces a lost direction is fitted again on: ~15 s on 2 cores, 96 % moved on a sketch fine-tune


def moved_shares(generator: nn.Module, directions: list[Direction], classifier: nn.Module, num_faces: int = 200,
                 amount: float = 2.0, seed: int = 2) -> dict[str, float]:
    """For each labelled direction, the share of ``num_faces`` generated faces whose classifier score for its
    attribute goes the asked way when the direction is applied at ``amount``."""
    w = sample_w(generator, num_faces, seed).to(next(generator.parameters()).device)

    def scores(latents: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return predict(classifier, to_uint8(generator.synthesis(latents[:, None, :].expand(
                -1, generator.num_ws, -1))))

    before = scores(w)  # the unedited faces, shared by every direction
    return {d.name: float((scores(w + amount * d.vector.to(w))[:, ATTRIBUTE_OUTPUT[d.name]]
                           > before[:, ATTRIBUTE_OUTPUT[d.name]]).float().mean()) for d in directions}


def inherited_directions(generator: nn.Module, parent: list[Direction], classifier: nn.Module,
                         parent_name: str, num_faces: int = 100, refit_faces: int = REFIT_FACES) -> list[Direction]:
    """The labelled directions of a model fine-tuned from ``parent``: each of the parent's that moves its
    attribute on TRUST_INHERITED of this model's own faces; for the others, whichever moves it more of the
    parent's and the attribute's direction fitted again on ``refit_faces`` of them (a fine-tune to another look
    can bend w's meaning enough to weaken or lose a slider), if that reaches KEEP_INHERITED; each described with
    what was measured. The first load of a fine-tune in Explore waits on it: 100 faces (a share's standard error
    about 4 %) decide well enough."""
    labelled = [d for d in parent if d.kind == "labelled" and d.name in ATTRIBUTE_OUTPUT]
    shares = moved_shares(generator, labelled, classifier, num_faces)
    candidates = {d.name: [(shares[d.name], Direction(d.name, "labelled", d.vector, f"{d.description}; from "
                                                      f"{parent_name}, +2 moves it on {shares[d.name]:.0%} of this "
                                                      f"model's faces"))] for d in labelled}
    doubtful = {name for name, share in shares.items() if share < TRUST_INHERITED}
    if doubtful:
        refitted = [d for d in labelled_directions(generator, classifier, refit_faces) if d.name in doubtful]
        refit_shares = moved_shares(generator, refitted, classifier, num_faces)
        for d in refitted:
            candidates[d.name].append((refit_shares[d.name], Direction(
                d.name, "labelled", d.vector, f"{d.description}; fitted on this model's faces ({parent_name}'s moved "
                f"it on {shares[d.name]:.0%}), +2 moves it on {refit_shares[d.name]:.0%}")))
    best = [max(options, key=lambda option: option[0]) for options in candidates.values()]  # a tie keeps the parent's
    return [direction for share, direction in best if share >= KEEP_INHERITED]


def combine_directions(directions: dict[str, Direction], amounts: dict[str, float]) -> tuple[torch.Tensor, str]:
    """The w offset of slider ``amounts`` over ``directions`` as one vector, and a description like "+1.5 PC3"."""
    vector = torch.zeros_like(next(iter(directions.values())).vector)
    parts = []
    for name, value in amounts.items():
        if value and name in directions:
            vector += value * directions[name].vector
            parts.append(f"{value:+g} {name}")
    return vector, " ".join(parts)


def fit_slope(x: torch.Tensor, y: torch.Tensor) -> float:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    return float((x @ y) / (x @ x))


def save_directions(folder: str | Path, directions: list[Direction], meta: dict) -> None:
    """Write the computed (non-custom) directions beside a checkpoint."""
    folder = Path(folder)
    tmp = folder / (DIRECTIONS_FILE + ".tmp")
    save_tensors({f"{d.kind}/{d.name}": d.vector for d in directions}, tmp)
    tmp.replace(folder / DIRECTIONS_FILE)
    entries = [{"name": d.name, "kind": d.kind, "description": d.description} for d in directions]
    save_json(folder / DIRECTIONS_META, {"format_version": DIRECTIONS_VERSION, **meta, "directions": entries})


def load_directions(folder: str | Path) -> list[Direction]:
    """Directions cached beside a checkpoint, then its custom directions (sorted by name)."""
    folder = Path(folder)
    if not (folder / DIRECTIONS_META).is_file():
        return []
    try:
        meta = json.loads((folder / DIRECTIONS_META).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{folder / DIRECTIONS_META} is damaged: {exc}") from None
    if meta.get("format_version") != DIRECTIONS_VERSION:
        raise CheckpointError(f"{folder / DIRECTIONS_META} has format version {meta.get('format_version')}; this "
                              f"gan_art reads version {DIRECTIONS_VERSION}. Recompute them with `python -m gan_art "
                              f"directions --checkpoint {folder}`.")
    tensors = read_tensors(folder / DIRECTIONS_FILE)
    directions = [Direction(e["name"], e["kind"], tensors[f"{e['kind']}/{e['name']}"], e.get("description", ""))
                  for e in meta["directions"]]
    for file in sorted((folder / CUSTOM_DIR).glob("*.safetensors")):
        try:
            with safe_open(str(file), "pt") as f:
                description = (f.metadata() or {}).get("description", "")
            vector = read_tensors(file)["vector"]
        except (CheckpointError, KeyError, OSError, ValueError):
            continue  # a damaged custom direction must not hide the others
        directions.append(Direction(file.stem, "custom", vector, description))
    return directions


def check_name(name: str) -> str:
    """A user-typed direction name, validated so it can never escape its folder."""
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise DirectionError("a direction name is 1-40 letters, digits, spaces, '-' or '_', "
                             "starting with a letter or digit")
    return name


def save_custom_direction(folder: str | Path, name: str, vector: torch.Tensor, description: str) -> Path:
    """Save a user's direction (one slider unit = ``vector``) beside the checkpoint."""
    name = check_name(name)
    if float(vector.norm()) == 0:
        raise DirectionError("all sliders are at 0: move some sliders first, then save their combination")
    target = Path(folder) / CUSTOM_DIR
    target.mkdir(exist_ok=True)
    path = target / f"{name}.safetensors"
    tmp = target / f".{name}.tmp"
    save_file({"vector": vector.detach().float().contiguous()}, str(tmp), metadata={"description": description})
    tmp.replace(path)
    return path
