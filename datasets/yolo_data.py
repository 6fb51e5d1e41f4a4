"""A YOLO dataset as training batches for YOLOX: letterboxed the runtime's way (BGR, raw 0-255,
pad bottom/right with 114), labels in input pixels, a horizontal flip for training."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.yolo_check import label_path
from streetwarden.models.letterbox import letterbox


def load_sample(image_path: Path, size: int, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(CHW float32 tensor, [n, 5] class + xyxy in input pixels) of one image."""
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{image_path}: cannot be read as an image")
    h, w = image.shape[:2]
    boxed, info = letterbox(image, size, centered=False)
    rows = []
    lp = label_path(image_path)
    if lp.is_file():
        for line in lp.read_text().splitlines():
            f = line.split()
            if len(f) == 5:
                c, cx, cy, bw, bh = int(f[0]), *(float(v) for v in f[1:])
                rows.append([c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    labels = np.array(rows, np.float32).reshape(-1, 5)
    labels[:, 1:] = labels[:, 1:] * info.scale + np.array([info.pad_x, info.pad_y] * 2, np.float32)
    if flip:
        boxed = boxed[:, ::-1]
        x1 = size - labels[:, 3]
        labels[:, 3] = size - labels[:, 1]
        labels[:, 1] = x1
    return np.ascontiguousarray(boxed.transpose(2, 0, 1)).astype(np.float32), labels


def batches(files: list[Path], size: int, batch: int, rng: np.random.Generator | None):  # type: ignore[no-untyped-def]
    """Yields (images [B, 3, S, S], list of label arrays); shuffled and flipped when ``rng`` is given."""
    order = rng.permutation(len(files)) if rng is not None else np.arange(len(files))
    for start in range(0, len(order), batch):
        items = [load_sample(files[i], size, flip=bool(rng is not None and rng.random() < 0.5))
                 for i in order[start:start + batch]]
        yield np.stack([x for x, _ in items]), [y for _, y in items]
