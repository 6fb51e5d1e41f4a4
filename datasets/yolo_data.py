"""A YOLO dataset as training batches for YOLOX: letterboxed the runtime's way (BGR, raw 0-255,
pad bottom/right with 114), labels in input pixels; for training a horizontal flip, or the full
mosaic recipe of :mod:`augment`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.augment import ImageCache, flip as flip_sample, mosaic_sample, read_labels
from streetwarden.models.letterbox import letterbox


def load_sample(image_path: Path, size: int, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(CHW float32 tensor, [n, 5] class + xyxy in input pixels) of one image."""
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{image_path}: cannot be read as an image")
    h, w = image.shape[:2]
    boxed, info = letterbox(image, size, centered=False)
    labels = read_labels(image_path, w, h)
    labels[:, 1:] = labels[:, 1:] * info.scale + np.array([info.pad_x, info.pad_y] * 2, np.float32)
    if flip:
        boxed, labels = flip_sample(boxed, labels)
    return _chw(boxed), labels


def _chw(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)


def batches(files: list[Path], size: int, batch: int, rng: np.random.Generator | None,
            cache: ImageCache | None = None):  # type: ignore[no-untyped-def]
    """Yields (images [B, 3, S, S], list of label arrays).

    ``rng`` None: in order, plain letterbox (validation). With ``rng``: shuffled; with ``cache``
    each input is a mosaic (:func:`augment.mosaic_sample`), without it a plain image flipped half
    the time.
    """
    order = rng.permutation(len(files)) if rng is not None else np.arange(len(files))
    for start in range(0, len(order), batch):
        if rng is not None and cache is not None:
            items = [mosaic_sample(cache, files, int(i), rng) for i in order[start:start + batch]]
            items = [(_chw(x), y) for x, y in items]
        else:
            items = [load_sample(files[i], size, flip=bool(rng is not None and rng.random() < 0.5))
                     for i in order[start:start + batch]]
        yield np.stack([x for x, _ in items]), [y for _, y in items]
