"""Training-time augmentation for small street datasets: mosaic, random scale and shift, colour.

A few hundred photos are learnt by heart within twenty epochs (on garbage-cn the held-back loss
stops falling at epoch 18 with flips alone). Mosaic puts four photos into one input at random
offsets, so each step sees new contexts, object positions and partial objects; the random affine
adds scale changes (a camera further up the pole) and the HSV jitter the light of other hours.
This follows the YOLOX / Ultralytics recipe, reimplemented on numpy + OpenCV so the runtime's
letterbox conventions hold (BGR, raw 0-255, grey 114 padding).

Decoded images are cached once, resized to the training size: on a 2-core machine decoding four
JPEGs per sample would cost more than the model step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.yolo_check import label_path

PAD = 114


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random transforms (Ultralytics' defaults for scale, shift and colour)."""

    scale: tuple[float, float] = (0.5, 1.5)
    shift: float = 0.1          # of the input size, each way
    hsv: tuple[float, float, float] = (0.015, 0.7, 0.4)  # hue, saturation, value gains
    min_side: float = 2.0       # pixels: a box cut thinner than this is dropped
    min_kept: float = 0.2       # share of a box's (scaled) area that must stay inside the input


def read_labels(image_path: Path, w: int, h: int) -> np.ndarray:
    """[n, 5] class + xyxy in the image's pixels, from its YOLO label file (none → empty)."""
    rows = []
    lp = label_path(image_path)
    if lp.is_file():
        for line in lp.read_text().splitlines():
            f = line.split()
            if len(f) == 5:
                c, cx, cy, bw, bh = int(f[0]), *(float(v) for v in f[1:])
                rows.append([c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return np.array(rows, np.float32).reshape(-1, 5)


class ImageCache:
    """Each image decoded once and resized so its longer side is ``size``, with its labels."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[Path, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        item = self._items.get(path)
        if item is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"{path}: cannot be read as an image")
            h, w = image.shape[:2]
            labels = read_labels(path, w, h)
            r = self.size / max(h, w)
            if r != 1:
                image = cv2.resize(image, (max(1, round(w * r)), max(1, round(h * r))),
                                   interpolation=cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR)
                labels[:, 1:] *= r
            item = self._items[path] = (image, labels)
        return item


def mosaic(parts: list[tuple[np.ndarray, np.ndarray]], size: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four (image, labels) around a random centre on a 2S × 2S canvas (labels moved with them)."""
    s = size
    xc, yc = (int(rng.uniform(0.5 * s, 1.5 * s)) for _ in range(2))
    channels = parts[0][0].shape[2]
    canvas = np.full((2 * s, 2 * s, channels), PAD, np.uint8)
    out = []
    for i, (img, labels) in enumerate(parts):
        h, w = img.shape[:2]
        if i == 0:    # top left: the image's bottom-right corner at the centre
            x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
            x1b, y1b = w - (x2a - x1a), h - (y2a - y1a)
        elif i == 1:  # top right
            x1a, y1a, x2a, y2a = xc, max(yc - h, 0), min(xc + w, 2 * s), yc
            x1b, y1b = 0, h - (y2a - y1a)
        elif i == 2:  # bottom left
            x1a, y1a, x2a, y2a = max(xc - w, 0), yc, xc, min(yc + h, 2 * s)
            x1b, y1b = w - (x2a - x1a), 0
        else:         # bottom right
            x1a, y1a, x2a, y2a = xc, yc, min(xc + w, 2 * s), min(yc + h, 2 * s)
            x1b, y1b = 0, 0
        canvas[y1a:y2a, x1a:x2a] = img[y1b:y1b + (y2a - y1a), x1b:x1b + (x2a - x1a)]
        moved = labels.copy()
        moved[:, [1, 3]] = (moved[:, [1, 3]] + x1a - x1b).clip(x1a, x2a)  # a box cut by the tile's edge ends there
        moved[:, [2, 4]] = (moved[:, [2, 4]] + y1a - y1b).clip(y1a, y2a)
        out.append(moved[(moved[:, 3] > moved[:, 1]) & (moved[:, 4] > moved[:, 2])])
    return canvas, np.concatenate(out) if out else np.zeros((0, 5), np.float32)


def random_affine(image: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator,
                  settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """An S × S view of ``image`` (any size) centred near its middle, scaled and shifted at random.

    Boxes follow their corners; a box cut to under ``min_kept`` of its scaled area, or thinner than
    ``min_side`` pixels, is dropped (a sliver of a bin teaches nothing but noise).
    """
    h, w = image.shape[:2]
    scale = rng.uniform(*settings.scale)
    tx = size / 2 + rng.uniform(-settings.shift, settings.shift) * size
    ty = size / 2 + rng.uniform(-settings.shift, settings.shift) * size
    m = np.array([[scale, 0, tx - scale * w / 2], [0, scale, ty - scale * h / 2]], np.float32)
    border = (PAD,) * min(image.shape[2], 4)
    out = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=border)
    if out.ndim == 2:
        out = out[:, :, None]
    if not len(labels):
        return out, labels
    boxes = labels[:, 1:] * scale + np.array([m[0, 2], m[1, 2]] * 2, np.float32)
    before = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    clipped = boxes.clip(0, size)
    bw, bh = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    keep = (bw > settings.min_side) & (bh > settings.min_side) & (bw * bh > settings.min_kept * np.maximum(before, 1e-6))
    return out, np.concatenate([labels[keep, :1], clipped[keep]], axis=1).astype(np.float32)


def hsv_jitter(image: np.ndarray, rng: np.random.Generator, gains: tuple[float, float, float]) -> np.ndarray:
    """Hue, saturation and value scaled by random factors (a BGR uint8 image, returned new)."""
    r = rng.uniform(-1, 1, 3) * np.array(gains) + 1
    hue, sat, val = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    x = np.arange(256, dtype=np.float32)
    lut_h = ((x * r[0]) % 180).astype(np.uint8)
    lut_s = np.clip(x * r[1], 0, 255).astype(np.uint8)
    lut_v = np.clip(x * r[2], 0, 255).astype(np.uint8)
    merged = cv2.merge((cv2.LUT(hue, lut_h), cv2.LUT(sat, lut_s), cv2.LUT(val, lut_v)))
    return cv2.cvtColor(merged, cv2.COLOR_HSV2BGR)


def flip(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mirror image and its boxes."""
    size = image.shape[1]
    out = labels.copy()
    out[:, 1], out[:, 3] = size - labels[:, 3], size - labels[:, 1]
    return image[:, ::-1], out


def mosaic_sample(cache: ImageCache, files: list[Path], index: int, rng: np.random.Generator,
                  settings: AugmentSettings = AugmentSettings(), colour: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One training input: ``files[index]`` and three random others in a mosaic, scaled, shifted,
    coloured and flipped. Returns (S × S × 3 uint8 BGR, [n, 5] class + xyxy in input pixels)."""
    picks = [index, *rng.integers(0, len(files), 3)]
    image, labels = mosaic([cache.get(files[i]) for i in picks], cache.size, rng)
    image, labels = random_affine(image, labels, cache.size, rng, settings)
    if colour:
        image = hsv_jitter(image, rng, settings.hsv)
    if rng.random() < 0.5:
        image, labels = flip(image, labels)
    return np.ascontiguousarray(image), labels
