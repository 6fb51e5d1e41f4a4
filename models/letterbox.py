"""Resize-and-pad to a model's square input while keeping aspect ratio."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LetterboxInfo:
    """How a source image was placed in the model input, to map boxes back."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int


def letterbox(image: np.ndarray, size: int, centered: bool, pad_value: int = 114) -> tuple[np.ndarray, LetterboxInfo]:
    """Return a size×size uint8 image; YOLOX pads bottom/right, Ultralytics centres."""
    h, w = image.shape[:2]
    scale = min(size / h, size / w)
    nw, nh = int(round(w * scale)), int(round(h * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else image
    px = (size - nw) // 2 if centered else 0
    py = (size - nh) // 2 if centered else 0
    # one pass that pads while copying (cheaper than filling a canvas and pasting into it)
    out = cv2.copyMakeBorder(resized, py, size - nh - py, px, size - nw - px, cv2.BORDER_CONSTANT,
                             value=(pad_value,) * 3)
    return out, LetterboxInfo(scale, float(px), float(py), w, h)


def unletterbox(xyxy: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Map boxes from model-input pixels back to source pixels, clipped to the image."""
    out = xyxy.astype(np.float32, copy=True)
    out[:, [0, 2]] = ((out[:, [0, 2]] - info.pad_x) / info.scale).clip(0, info.width)
    out[:, [1, 3]] = ((out[:, [1, 3]] - info.pad_y) / info.scale).clip(0, info.height)
    return out
