"""Edits carried onto the user's own photo at its own resolution.

The generator's reconstruction of a face, G(w), and the edited face, G(w'), differ only by what the user asked
for. That difference, warped from the aligned frame into the photo and added to the photo's own pixels inside
the face's ellipse, is the edit: the photo keeps its sharpness, identity and every pixel the edit does not
change (with no edit it comes back bit for bit).
"""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from gan_art.errors import ImageError
from gan_art.faces import Face, face_ellipse

VIEW_SIDE = 256  # Explore's photo mode shows the user's aligned face at this size, from the photo's own pixels
MIN_EDIT_FACE = 48  # px: the side of the aligned crop in the photo below which a face holds too little to edit
PROFILE_OFFSET = 0.35  # nose off the eyes' midline by more than this share of the eye distance: turned away


def aligned_view(photo: Image.Image, transform: np.ndarray, resolution: int, side: int = VIEW_SIDE) -> np.ndarray:
    """The photo's face in the aligned frame (``transform``: photo -> ``resolution`` px crop) at ``side`` px,
    (side, side, 3) uint8 from the photo's own pixels."""
    scaled = np.asarray(transform, np.float64).reshape(2, 3) * (side / resolution)
    shrinking = scaled[0, 0] ** 2 + scaled[0, 1] ** 2 < 1
    return cv2.warpAffine(np.asarray(photo.convert("RGB")), scaled, (side, side),
                          flags=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def edited_view(view: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """An aligned view (S, S, 3) uint8 with an edit ``difference`` (R, R, 3) float enlarged onto it, inside the
    face's ellipse."""
    side = view.shape[0]
    delta = cv2.resize(difference, (side, side), interpolation=cv2.INTER_CUBIC)
    alpha = face_ellipse(side)[..., None]
    return (view + alpha * delta).round().clip(0, 255).astype(np.uint8)


def carry_edit(photo: Image.Image, transform: np.ndarray, resolution: int, difference: np.ndarray) -> Image.Image:
    """``photo`` with the edit ``difference`` (R, R, 3) float, edited minus reconstructed face in the aligned frame,
    warped into place and added inside the face's ellipse. Only the face's box is touched; a zero difference
    returns the photo unchanged."""
    base = np.asarray(photo.convert("RGB"))
    H, W = base.shape[:2]
    R = difference.shape[0]
    inverse = cv2.invertAffineTransform(np.asarray(transform, np.float64).reshape(2, 3) * (R / resolution))
    corners = np.array([[0, 0, 1], [R, 0, 1], [0, R, 1], [R, R, 1]], np.float64) @ inverse.T
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [W, H])
    out = base.copy()
    if x1 <= x0 or y1 <= y0:
        return Image.fromarray(out)
    inverse[:, 2] -= (x0, y0)  # warp only the face's box: milliseconds on a 2000x1500 photo
    box = (int(x1 - x0), int(y1 - y0))
    delta = cv2.warpAffine(difference.astype(np.float32), inverse, box, flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(face_ellipse(R), inverse, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    region = out[y0:y1, x0:x1].astype(np.float32) + alpha[..., None] * delta
    out[y0:y1, x0:x1] = region.round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(out)


def edit_warnings(face: Face | None, transform: np.ndarray, resolution: int) -> list[str]:
    """Why an edit may not carry well onto this face, said before the user spends time reconstructing it."""
    notes = []
    face_side = resolution / float(np.hypot(*np.asarray(transform, np.float64).reshape(2, 3)[0, :2]))
    if face_side < MIN_EDIT_FACE:
        notes.append(f"This face is only about {face_side:.0f} px wide in the photo: the edit will be carried, but "
                     "there is little detail to keep; a larger photo of the face works better.")
    if face is not None:
        left, right, nose = face.landmarks[:3]
        eyes = right - left
        # how far the nose sits along the eye line from the eyes' midpoint, in eye distances (0 when frontal)
        along = float(np.dot(nose - (left + right) / 2, eyes)) / max(float(np.dot(eyes, eyes)), 1e-6)
        if abs(along) > PROFILE_OFFSET:
            notes.append("This face is turned away from the camera: the generator learned faces seen from the front, "
                         "so the reconstruction and the edit may look off.")
    return notes


def check_transform(values: list[float]) -> np.ndarray:
    """A recipe's recorded face place (six numbers) as a 2x3 affine, refused with a message when unusable."""
    transform = np.asarray(values, np.float64)
    if transform.shape != (6,) or not np.isfinite(transform).all() or abs(np.linalg.det(
            transform.reshape(2, 3)[:, :2])) < 1e-9:
        raise ImageError("this recipe does not record where the face is in the photo: reconstruct the face from "
                         "the photo first")
    return transform.reshape(2, 3)
