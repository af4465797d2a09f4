"""Precision ``auto``: choose fp32, bf16 (or fp16 on CUDA) for a training run by timing it on this machine.

bf16 autocast halves memory traffic where the hardware computes in bf16 (GPUs, CPUs with AVX-512
BF16 or AMX) and is an order of magnitude *slower* where the CPU only emulates it, which is most
laptops and cloud VMs. So a few steps of the actual model at the run's batch size are timed in each
precision the hardware could run faster, and a lower precision is kept only where it is measurably faster.
An x86 CPU without AVX-512 BF16 or AMX is not timed in bf16: it converts to fp32 and back around fp32
arithmetic, so bf16 cannot win there (6.5-10x slower in every probe we ran), and timing it cost more
than the rest of the probe.
The result is cached per machine (see :func:`gan_art.machine.machine_key`) and model, so it is paid once.
"""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from gan_art.config import save_json
from gan_art.errors import ConfigError
from gan_art.machine import emulates_bf16, machine_key
from gan_art.paths import cache_dir

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MIN_SPEEDUP = 1.05  # a lower precision must be at least this much faster than fp32 to be kept (timing noise)
GIVE_UP_RATIO = 3.0  # a candidate this many times slower than fp32 at the screening batch is not timed at full size
CACHE_VERSION = 1


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses, and why."""

    precision: str  # "fp32", "bf16" or "fp16"
    requested: str = "auto"  # what the config asked for
    seconds_per_step: dict[str, float] = field(default_factory=dict)  # measured, per candidate
    reason: str = ""  # in plain words, for the Train tab and the CLI

    def to_dict(self) -> dict:
        return asdict(self)


def candidates(device: torch.device) -> list[str]:
    """Precisions worth timing on ``device``, fp32 (the reference) first."""
    if device.type == "cuda":
        return ["fp32", "bf16", "fp16"] if torch.cuda.is_bf16_supported() else ["fp32", "fp16"]
    return ["fp32"] if emulates_bf16() else ["fp32", "bf16"]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step: Callable[[], None], device: torch.device) -> float:
    _synchronize(device)
    start = time.perf_counter()
    step()
    _synchronize(device)
    return time.perf_counter() - start


def steady_seconds(step: Callable[[], None], device: torch.device, min_steps: int = 2, min_seconds: float = 0.5,
                   max_steps: int = 20) -> float:
    """Median seconds per call of a warmed-up ``step``: at least ``min_steps`` calls, more while under
    ``min_seconds`` in total (fast GPUs need more calls for a stable figure)."""
    times: list[float] = []
    while len(times) < min_steps or (sum(times) < min_seconds and len(times) < max_steps):
        times.append(_timed(step, device))
    return statistics.median(times)


def measure(make_step: Callable[[str, int], Callable[[], None]], batch_size: int,
            device: torch.device) -> dict[str, float]:
    """Seconds per training step at ``batch_size`` for each candidate precision.

    ``make_step(precision, batch_size)`` returns one training step. Where there is more than fp32 to time,
    every candidate is first screened at an eighth of the batch: one far slower than fp32 there (bf16
    emulated by the CPU, often 10-40x) is not run at full size, where a single step could take minutes;
    its figure is then extrapolated from the screening ratio."""
    names = candidates(device)
    screened = {}
    if len(names) > 1:  # fp32 alone is timed at full size anyway
        for name in names:
            step = make_step(name, max(1, batch_size // 8))
            _timed(step, device)  # pays one-time costs (kernel selection, allocator)
            screened[name] = _timed(step, device)
    seconds: dict[str, float] = {}
    for name in names:
        if name == "fp32" or screened[name] <= GIVE_UP_RATIO * screened["fp32"]:
            step = make_step(name, batch_size)
            _timed(step, device)
            seconds[name] = round(steady_seconds(step, device), 4)
    for name in set(screened) - set(seconds):
        seconds[name] = round(seconds["fp32"] * screened[name] / screened["fp32"], 4)
    return seconds


def decide(seconds: dict[str, float], device: torch.device) -> tuple[str, str]:
    """(precision, reason): the fastest candidate, where a lower precision must beat fp32 by MIN_SPEEDUP."""
    reference = seconds["fp32"]
    best = min(seconds, key=seconds.get)
    if best != "fp32" and reference / seconds[best] < MIN_SPEEDUP:
        best = "fp32"
    where = "this GPU" if device.type == "cuda" else "this CPU"
    if best == "fp32":
        others = [n for n in seconds if n != "fp32"]
        if not others:
            if device.type == "cpu" and emulates_bf16():
                return "fp32", (f"fp32 — {where} has no native bf16 (AVX-512 BF16 or AMX): "
                                "bf16 would be emulated, slower")
            return "fp32", f"fp32 (no lower precision to try on {where})"
        worst = max(others, key=lambda n: seconds[n] / reference)
        ratio = seconds[worst] / reference
        if ratio >= MIN_SPEEDUP:
            return "fp32", f"fp32 — {worst} is {ratio:.1f}x slower on {where}"
        return "fp32", f"fp32 — {worst} is not faster on {where} ({reference / seconds[worst]:.2f}x)"
    return best, f"{best} — {reference / seconds[best]:.1f}x faster than fp32 on {where}"


def _cache_file():
    return cache_dir() / "precision.json"


def _read_cache() -> dict:
    try:
        cache = json.loads(_cache_file().read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return cache if isinstance(cache, dict) and cache.get("version") == CACHE_VERSION else {}


def _entry(key: str, device: torch.device, threads: int | None = None) -> str:
    return f"{machine_key(device, threads)}|{key}"


def cached_choice(key: str, device: torch.device, threads: int | None = None) -> PrecisionChoice | None:
    """A choice measured before for this machine (with ``threads`` torch threads; default: this process's)
    and ``key`` (a model/batch description), if any."""
    entry = _read_cache().get("entries", {}).get(_entry(key, device, threads))
    return PrecisionChoice(**entry) if entry else None


def choose(requested: str, key: str, make_step: Callable[[str, int], Callable[[], None]], batch_size: int,
           device: torch.device) -> PrecisionChoice:
    """The precision to train with: ``requested`` unless it is ``auto``, else measured (cached) on this machine."""
    if requested != "auto":
        if requested not in PRECISIONS:
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {requested!r}")
        return PrecisionChoice(requested, requested, {}, f"{requested} (chosen in the config)")
    found = cached_choice(key, device)
    if found is not None:
        return found
    seconds = measure(make_step, batch_size, device)
    precision, reason = decide(seconds, device)
    return remember(key, device, PrecisionChoice(precision, "auto", seconds, reason))


def remember(key: str, device: torch.device, choice: PrecisionChoice, threads: int | None = None) -> PrecisionChoice:
    """Cache ``choice`` as measured on this machine (with ``threads``; default: this process's) for ``key``."""
    cache = _read_cache() or {"version": CACHE_VERSION, "entries": {}}
    cache["entries"][_entry(key, device, threads)] = choice.to_dict()
    try:
        save_json(_cache_file(), cache)
    except OSError:
        pass  # a read-only home: measure again next time
    return choice
