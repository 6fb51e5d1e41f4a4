"""The ground truth of one split of a YOLO dataset, checked first so a bad dataset costs one line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.eval_metrics import Boxes
from streetwarden.datasets.yolo_check import check_dataset, label_path


class EvalError(Exception):
    """An evaluation that cannot run; the message says what to fix."""


@dataclass
class SplitTruth:
    root: Path
    yaml_path: Path
    split: str
    names: list[str]
    files: list[Path]
    sizes: list[tuple[int, int]]  # (width, height) per image
    boxes: list[Boxes]


def _labels(path: Path, w: int, h: int) -> Boxes:
    lp = label_path(path)
    rows = [line.split() for line in lp.read_text().splitlines()] if lp.is_file() else []
    rows = [r for r in rows if len(r) == 5]
    if not rows:
        return Boxes.empty(scored=False)
    a = np.array(rows, np.float64)
    cx, cy, bw, bh = a[:, 1] * w, a[:, 2] * h, a[:, 3] * w, a[:, 4] * h
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).astype(np.float32)
    return Boxes(xyxy, a[:, 0].astype(np.int64))


def load_split(root: Path, split: str) -> SplitTruth:
    """The images and boxes of ``split``; EvalError naming the first problem of the dataset."""
    report = check_dataset(root)
    blocking = report.blocking()
    if blocking:
        raise EvalError(f"{root}: {len(blocking)} problem(s) in the dataset, first: {blocking[0]} "
                        f"(all of them: `streetwarden dataset import {root}`)")
    files = sorted(set(report.splits.get(split, [])))
    if not files:
        have = ", ".join(k for k, v in report.splits.items() if v) or "none"
        raise EvalError(f"{root}: data.yaml has no images for split {split!r} (splits with images: {have}); "
                        "give --split or hold back a val split")
    sizes, boxes = [], []
    for f in files:
        image = cv2.imread(str(f), cv2.IMREAD_COLOR)  # check_dataset has decoded every one already
        h, w = image.shape[:2]
        sizes.append((w, h))
        boxes.append(_labels(f, w, h))
    yaml_path = root if root.is_file() else root / "data.yaml"
    return SplitTruth(root, yaml_path, split, report.names, files, sizes, boxes)
