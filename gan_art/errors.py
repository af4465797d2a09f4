"""Errors a user can cause and fix. The UI and the CLI show a :class:`GanArtError` as its message; anything
else is a bug, reported as an internal error with its traceback in the log."""
from __future__ import annotations


class GanArtError(Exception):
    """A request that cannot be carried out as asked; the message says why and what to do."""


class ConfigError(GanArtError, ValueError):
    """A configuration value or command-line argument is invalid."""


class ImageError(GanArtError, ValueError):
    """An image file cannot be used (corrupt, too large, not an image)."""


class DatasetError(GanArtError, ValueError):
    """A dataset path has no usable images or cannot be read."""


class CheckpointError(GanArtError, ValueError):
    """A checkpoint folder is missing, damaged, of another kind or of an unsupported format version."""


class RecipeError(GanArtError, ValueError):
    """A PNG carries no recipe, or a recipe that does not fit the loaded checkpoint."""


class DirectionError(GanArtError, ValueError):
    """A latent direction name or file is invalid."""


class RepairError(GanArtError, ValueError):
    """A repair request cannot be carried out (mask shape, empty photo, unknown method)."""


class StyleError(GanArtError, ValueError):
    """A style request cannot be carried out (size, strength, missing style)."""


class RunError(GanArtError, ValueError):
    """A training-run request (name, queue, control) cannot be carried out."""


class TrainingError(GanArtError, RuntimeError):
    """Training cannot continue (diverged, bad resume state); the last checkpoint stays intact."""
