"""Resize-and-pad to a model's input while keeping aspect ratio.

Square by default (the model's native input). With ``stride`` the padded side is only rounded up to
a multiple of the model's largest stride ("rectangular" input): a 16:9 camera at 416 becomes
416x256 instead of 416x416, 38 % fewer pixels and as much less model time, same scale, same boxes.
"""

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


def input_shape(width: int, height: int, size: int, stride: int | None = None) -> tuple[int, int, float]:
    """(input height, input width, scale) for a width x height image: square ``size`` without a
    stride, else the longer side ``size`` and the shorter one rounded up to a multiple of ``stride``."""
    scale = min(size / height, size / width)
    if not stride:
        return size, size, scale
    def fit(n: int) -> int:
        return min(size, -(-int(round(n * scale)) // stride) * stride)
    return fit(height), fit(width), scale


def letterbox(image: np.ndarray, size: int, centered: bool, pad_value: int = 114,
              stride: int | None = None) -> tuple[np.ndarray, LetterboxInfo]:
    """Return the uint8 model input (size x size, or rectangular with ``stride``); YOLOX pads
    bottom/right, Ultralytics centres."""
    h, w = image.shape[:2]
    oh, ow, scale = input_shape(w, h, size, stride)
    nw, nh = min(ow, int(round(w * scale))), min(oh, int(round(h * scale)))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else image
    px = (ow - nw) // 2 if centered else 0
    py = (oh - nh) // 2 if centered else 0
    # one pass that pads while copying (cheaper than filling a canvas and pasting into it)
    out = cv2.copyMakeBorder(resized, py, oh - nh - py, px, ow - nw - px, cv2.BORDER_CONSTANT,
                             value=(pad_value,) * 3)
    return out, LetterboxInfo(scale, float(px), float(py), w, h)


def unletterbox(xyxy: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Map boxes from model-input pixels back to source pixels, clipped to the image."""
    out = xyxy.astype(np.float32, copy=True)
    out[:, [0, 2]] = ((out[:, [0, 2]] - info.pad_x) / info.scale).clip(0, info.width)
    out[:, [1, 3]] = ((out[:, [1, 3]] - info.pad_y) / info.scale).clip(0, info.height)
    return out
