"""Synthetic holes and damage: masks for training and benchmarking inpainting, damaged photos for the detector.

Every function draws its randomness from an explicit ``numpy.random.Generator``; images are
(H, W, 3) uint8 arrays and masks (H, W) bool arrays with True = damaged / to repair.
"""
from __future__ import annotations

import cv2
import numpy as np

MASK_KINDS = ("strokes", "blobs", "boxes", "scratches")
DAMAGE_KINDS = ("scratch", "crack", "fold", "dust", "stain", "block")
HOLE_BANDS = ((0.10, 0.20), (0.20, 0.30), (0.30, 0.40), (0.40, 0.50))


def _stroke(mask: np.ndarray, rng: np.random.Generator, width_range: tuple[float, float], steps: int) -> None:
    """A free-form brush stroke: a random walk of thick line segments (LaMa / DeepFill v2 style)."""
    H, W = mask.shape
    x, y = rng.uniform(0, W), rng.uniform(0, H)
    angle = rng.uniform(0, 2 * np.pi)
    width = max(1, int(rng.uniform(*width_range) * min(H, W)))
    for _ in range(steps):
        angle += rng.normal(0, 0.8)
        length = rng.uniform(0.05, 0.25) * min(H, W)
        nx, ny = np.clip(x + length * np.cos(angle), 0, W - 1), np.clip(y + length * np.sin(angle), 0, H - 1)
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, width)
        x, y = nx, ny


def _shape(mask: np.ndarray, rng: np.random.Generator, kind: str) -> None:
    H, W = mask.shape
    side = min(H, W)
    if kind == "strokes":
        _stroke(mask, rng, (0.02, 0.15), int(rng.integers(2, 8)))
    elif kind == "scratches":
        _stroke(mask, rng, (0.005, 0.015), int(rng.integers(3, 10)))
    elif kind == "blobs":
        center = (int(rng.uniform(0, W)), int(rng.uniform(0, H)))
        axes = (int(rng.uniform(0.05, 0.4) * side), int(rng.uniform(0.05, 0.4) * side))
        cv2.ellipse(mask, center, axes, rng.uniform(0, 180), 0, 360, 1, -1)
    elif kind == "boxes":
        w, h = int(rng.uniform(0.05, 0.7) * W), int(rng.uniform(0.05, 0.7) * H)  # aspect ratios up to ~14:1
        x, y = int(rng.uniform(0, W - w)), int(rng.uniform(0, H - h))
        mask[y:y + h, x:x + w] = 1
    else:
        raise ValueError(f"unknown mask kind {kind!r}; the kinds are {MASK_KINDS}")


def random_mask(shape: tuple[int, int], rng: np.random.Generator, max_ratio: float = 0.5) -> np.ndarray:
    """A training mask: a random mix of strokes, blobs, boxes and scratches covering up to ``max_ratio``."""
    target = rng.uniform(0.02, max_ratio)
    mask = np.zeros(shape, np.uint8)
    for _ in range(50):
        trial = mask.copy()
        _shape(trial, rng, MASK_KINDS[rng.integers(len(MASK_KINDS))])
        if trial.mean() > max_ratio:
            continue
        mask = trial
        if mask.mean() >= target:
            break
    return mask.astype(bool)


def mask_in_band(shape: tuple[int, int], rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A mask whose hole ratio lies in [low, high) (benchmark bands), from the same shape generator."""
    for _ in range(1000):
        mask = np.zeros(shape, np.uint8)
        while mask.mean() < low:
            trial = mask.copy()
            _shape(trial, rng, MASK_KINDS[rng.integers(len(MASK_KINDS))])
            if trial.mean() < high:
                mask = trial
            elif rng.random() < 0.2:
                break  # overshooting shapes: start again with a fresh mask
        if low <= mask.mean() < high:
            return mask.astype(bool)
    raise RuntimeError(f"could not draw a mask with a hole ratio in [{low}, {high})")


def _blend(image: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return (image * (1 - alpha[..., None]) + color * alpha[..., None]).round().clip(0, 255).astype(np.uint8)


def _line_layer(shape, rng, count, width_range, walk_steps) -> np.ndarray:
    layer = np.zeros(shape, np.float32)
    H, W = shape
    for _ in range(count):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(walk_steps):
            angle += rng.normal(0, 0.35)
            length = rng.uniform(0.03, 0.15) * min(H, W)
            nx, ny = x + length * np.cos(angle), y + length * np.sin(angle)
            width = int(rng.integers(width_range[0], width_range[1] + 1))
            cv2.line(layer, (int(x), int(y)), (int(nx), int(ny)), 1.0, width, lineType=cv2.LINE_AA)
            x, y = nx, ny
    return layer


def _damage_layer(shape: tuple[int, int], rng: np.random.Generator, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(alpha (H, W) in 0..1, colour (H, W, 3)) of one kind of damage."""
    H, W = shape
    tone = rng.choice([rng.uniform(215, 255), rng.uniform(0, 50)])
    color = np.full((H, W, 3), tone, np.float32)
    if kind == "scratch":
        alpha = _line_layer(shape, rng, int(rng.integers(1, 6)), (1, max(1, min(H, W) // 100)), 3)
    elif kind == "crack":
        alpha = _line_layer(shape, rng, int(rng.integers(2, 6)), (1, 2), 8)
        color[:] = rng.uniform(10, 60)
    elif kind == "fold":
        alpha = np.zeros(shape, np.float32)
        y = int(rng.uniform(0.15, 0.85) * H)
        tilt = int(rng.uniform(-0.2, 0.2) * H)
        cv2.line(alpha, (0, y), (W - 1, y + tilt), 1.0, max(2, int(rng.uniform(0.02, 0.05) * H)))
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, H / 150)) * rng.uniform(0.6, 0.9)
        if rng.random() < 0.5:
            alpha = alpha.T.copy() if H == W else alpha
    elif kind == "dust":
        alpha = np.zeros(shape, np.float32)
        for _ in range(int(rng.integers(20, 120))):
            cv2.circle(alpha, (int(rng.uniform(0, W)), int(rng.uniform(0, H))), int(rng.integers(1, 3)), 1.0, -1)
    elif kind == "stain":
        alpha = np.zeros(shape, np.float32)
        center = (int(rng.uniform(0, W)), int(rng.uniform(0, H)))
        axes = (int(rng.uniform(0.05, 0.2) * W), int(rng.uniform(0.05, 0.2) * H))
        cv2.ellipse(alpha, center, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, min(H, W) / 60)) * rng.uniform(0.45, 0.8)
        color[:] = np.array([rng.uniform(120, 170), rng.uniform(90, 130), rng.uniform(30, 70)], np.float32)
    elif kind == "block":  # a missing piece, flat or noisy
        alpha = np.zeros(shape, np.float32)
        w, h = int(rng.uniform(0.08, 0.3) * W), int(rng.uniform(0.08, 0.3) * H)
        x, y = int(rng.uniform(0, W - w)), int(rng.uniform(0, H - h))
        alpha[y:y + h, x:x + w] = 1.0
        if rng.random() < 0.3:
            color = rng.uniform(0, 255, (H, W, 3)).astype(np.float32)
    else:
        raise ValueError(f"unknown damage kind {kind!r}; the kinds are {DAMAGE_KINDS}")
    return alpha, color


def apply_damage(image: np.ndarray, rng: np.random.Generator, kinds: tuple[str, ...] | None = None,
                 threshold: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A damaged copy of an (H, W, 3) uint8 photo and the mask of the pixels the damage changed visibly."""
    shape = image.shape[:2]
    if kinds is None:
        count = int(rng.integers(1, 4))
        kinds = tuple(rng.choice(DAMAGE_KINDS, size=count, replace=False))
    damaged = image.copy()
    mask = np.zeros(shape, bool)
    for kind in kinds:
        alpha, color = _damage_layer(shape, rng, kind)
        damaged = _blend(damaged, color, alpha)
        mask |= alpha > threshold
    return damaged, mask
