"""Faces in photos: find them (MTCNN, :mod:`gan_art.nets.mtcnn`), crop them the way the training faces are
cropped, and put an edited face back into the photo.

Alignment is a similarity transform (rotation, scale, shift) that moves the five landmarks onto
TEMPLATE, the median landmark positions of the UTKFace training crops (measured with this detector on
600 training faces: scripts/measure_face_template.py), so a photo's face lands where the generator
draws faces.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_art.errors import ImageError
from gan_art.nets.mtcnn import INPUT_MEAN, INPUT_SCALE, load_mtcnn
from gan_art.paths import CHECKPOINTS, MTCNN

# five landmarks (left eye, right eye, nose, left and right mouth corner) as fractions of the aligned crop
TEMPLATE = np.array([[0.2938, 0.2912], [0.6937, 0.2922], [0.4938, 0.5264], [0.3090, 0.6851], [0.6778, 0.6857]],
                    np.float32)
THRESHOLDS = (0.6, 0.7, 0.8)  # face probability each stage needs (P-, R-, O-Net), as in the paper
MIN_FACE = 24  # smallest face side (px) looked for; smaller faces hold too little to reconstruct
PYRAMID_FACTOR = 0.709
MAX_SIDE = 1600  # photos are searched at most this large (faces are found on a downscaled copy)


@dataclass
class Face:
    """A face found in a photo: box (x0, y0, x1, y1) and landmarks (5, 2) in photo pixels, and the probability."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


@functools.lru_cache(maxsize=2)
def detector(folder: Path = CHECKPOINTS / MTCNN):
    return load_mtcnn(folder)


def _crops(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Square crops of ``boxes`` (N, 4) from (1, 3, H, W), zero outside the photo, resized to ``size``."""
    H, W = image.shape[-2:]
    out = []
    for x0, y0, x1, y1 in boxes.round().int().tolist():
        crop = torch.zeros(1, 3, max(1, y1 - y0), max(1, x1 - x0))
        sy0, sx0, sy1, sx1 = max(0, y0), max(0, x0), min(H, y1), min(W, x1)
        if sy1 > sy0 and sx1 > sx0:
            crop[:, :, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[:, :, sy0:sy1, sx0:sx1]
        out.append(F.interpolate(crop, size=(size, size), mode="area"))
    return (torch.cat(out) - INPUT_MEAN) * INPUT_SCALE


def _square(boxes: torch.Tensor) -> torch.Tensor:
    side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return torch.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], 1)


def _refine(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    size = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    return boxes + offsets * size


@torch.no_grad()
def find_faces(photo: Image.Image, min_face: int = MIN_FACE, folder: Path = CHECKPOINTS / MTCNN) -> list[Face]:
    """Faces in a photo, largest first (an empty list when there is none)."""
    from torchvision.ops import nms  # noqa: PLC0415 - it imports torch._dynamo (1.5 s): paid by face finding only
    pnet, rnet, onet = detector(folder)
    rgb = np.asarray(photo.convert("RGB"))
    H, W = rgb.shape[:2]
    shrink = min(1.0, MAX_SIDE / max(H, W))
    if shrink < 1:
        rgb = cv2.resize(rgb, (round(W * shrink), round(H * shrink)), interpolation=cv2.INTER_AREA)
    image = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float()
    h, w = image.shape[-2:]
    # stage 1: P-Net over a pyramid; a 12 px window at scale s sees a face of 12 / s px
    proposals = []
    scale = 12 / max(min_face * shrink, 12)
    while min(h, w) * scale >= 12:
        scaled = F.interpolate(image, size=(int(h * scale + 1), int(w * scale + 1)), mode="area")
        offsets, prob = pnet((scaled - INPUT_MEAN) * INPUT_SCALE)
        ys, xs = torch.nonzero(prob[0] >= THRESHOLDS[0], as_tuple=True)
        if len(ys):
            cells = torch.stack([xs, ys, xs, ys], 1).float()
            boxes = torch.floor((cells * 2 + torch.tensor([1, 1, 12, 12])) / scale)
            scores = prob[0, ys, xs]
            keep = nms(boxes, scores, 0.5)
            proposals.append(torch.cat([boxes[keep], scores[keep, None], offsets[0, :, ys, xs].T[keep]], 1))
        scale *= PYRAMID_FACTOR
    if not proposals:
        return []
    found = torch.cat(proposals)
    found = found[nms(found[:, :4], found[:, 4], 0.7)]
    boxes = _square(_refine(found[:, :4], found[:, 5:9]))
    # stage 2: R-Net on 24 px crops
    offsets, prob = rnet(_crops(image, boxes, 24))
    keep = prob > THRESHOLDS[1]
    boxes, prob, offsets = boxes[keep], prob[keep], offsets[keep]
    if not len(boxes):
        return []
    keep = nms(boxes, prob, 0.7)
    boxes = _square(_refine(boxes[keep], offsets[keep]))
    # stage 3: O-Net on 48 px crops, with landmarks
    offsets, marks, prob = onet(_crops(image, boxes, 48))
    keep = prob > THRESHOLDS[2]
    boxes, marks, prob, offsets = boxes[keep], marks[keep], prob[keep], offsets[keep]
    if not len(boxes):
        return []
    size = boxes[:, 2:] - boxes[:, :2]
    landmarks = torch.stack([boxes[:, None, 0] + marks[:, :5] * size[:, None, 0],
                             boxes[:, None, 1] + marks[:, 5:] * size[:, None, 1]], 2)  # (N, 5, 2)
    boxes = _refine(boxes, offsets)
    keep = _nms_min(boxes, prob, 0.7)
    faces = [Face(tuple(float(v) / shrink for v in boxes[i]), landmarks[i].numpy() / shrink, float(prob[i]))
             for i in keep]
    return sorted(faces, key=lambda face: -face.size)


def _nms_min(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> list[int]:
    """Non-maximum suppression by intersection over the smaller box (drops a face box nested in another)."""
    order, keep = scores.argsort(descending=True).tolist(), []
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp_min(1e-6)
    for i in order:
        inter_w = (torch.minimum(boxes[i, 2], boxes[keep, 2]) - torch.maximum(boxes[i, 0], boxes[keep, 0])).clamp(0)
        inter_h = (torch.minimum(boxes[i, 3], boxes[keep, 3]) - torch.maximum(boxes[i, 1], boxes[keep, 1])).clamp(0)
        overlap = inter_w * inter_h / torch.minimum(areas[i], areas[keep])
        if not keep or bool((overlap <= threshold).all()):
            keep.append(i)
    return keep


@dataclass
class AlignedFace:
    """A face cropped like the training faces: ``image`` (R x R) and ``transform``, the 2x3 matrix taking photo
    pixels to crop pixels."""

    image: Image.Image
    transform: np.ndarray
    face: Face | None  # None for a photo given as a face crop (no detection)


def shows_a_face(photo: Image.Image, folder: Path) -> bool:
    """Whether a face at least a tenth of the photo's short side is in it (MTCNN weights in ``folder``); looking
    only for faces that large keeps this to a few tens of ms even on big photos."""
    return bool(find_faces(photo, min_face=max(MIN_FACE, min(photo.size) // 10), folder=folder))


def align(photo: Image.Image, face: Face, resolution: int) -> AlignedFace:
    """The face warped so its landmarks sit on TEMPLATE, at ``resolution`` x ``resolution``."""
    target = TEMPLATE * resolution
    transform, _ = cv2.estimateAffinePartial2D(face.landmarks.astype(np.float32), target, method=cv2.LMEDS)
    if transform is None:
        raise ImageError("could not align this face (its landmarks are degenerate); try another photo")
    crop = cv2.warpAffine(np.asarray(photo.convert("RGB")), transform, (resolution, resolution),
                          flags=cv2.INTER_AREA if transform[0, 0] ** 2 + transform[0, 1] ** 2 < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)
    return AlignedFace(Image.fromarray(crop), transform, face)


def face_ellipse(side: int, feather: float = 0.08) -> np.ndarray:
    """(side, side) float32 weights of the face in an aligned crop: 1 inside an ellipse around it, fading to 0
    over ``feather`` of the side, and exactly 0 in the crop's corners."""
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, int(side * 0.56)), (int(side * 0.40), int(side * 0.48)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), feather * side)
    mask[mask < 1e-3] = 0  # the Gaussian's far tail: a change there would be invisible yet touch the whole box
    return mask


def paste_back(photo: Image.Image, aligned: AlignedFace, edited: Image.Image, feather: float = 0.08) -> Image.Image:
    """``photo`` with ``edited`` (an R x R face in the aligned frame) warped back into place, blended over an
    ellipse around the face whose edge fades over ``feather`` of the crop's side."""
    base = np.asarray(photo.convert("RGB"))
    H, W = base.shape[:2]
    R = edited.width
    # the transform maps the photo onto the aligned crop's size; an edited face may be larger (upscaled)
    inverse = cv2.invertAffineTransform(aligned.transform * (R / aligned.image.width))
    face = cv2.warpAffine(np.asarray(edited.convert("RGB")), inverse, (W, H), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(face_ellipse(R, feather), inverse, (W, H), flags=cv2.INTER_LINEAR)[..., None]
    return Image.fromarray((face * alpha + base * (1 - alpha)).round().clip(0, 255).astype(np.uint8))
