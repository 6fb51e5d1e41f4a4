"""Pre- and post-processing of the two supported output families.

YOLOX: BGR, pad bottom/right with 114, raw 0-255 input; output [B, A, 85] of grid-relative
centre/log-size, sigmoided objectness and class scores.
Ultralytics YOLOv8/YOLO11: RGB, centred letterbox, /255; output [B, 4+C, A] of centre/size in
input pixels and class scores (no objectness).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from streetwarden.models.letterbox import LetterboxInfo, letterbox


@dataclass(frozen=True)
class RawBoxes:
    """Candidate boxes of one image before NMS, in model-input pixels."""

    xyxy: np.ndarray
    score: np.ndarray
    class_id: np.ndarray


class Family:
    name = ""
    centered = False
    rgb = False
    scale01 = False
    strides = (8, 16, 32)  # feature-map strides; the largest is what rectangular input pads to

    def anchors(self, shape: tuple[int, int]) -> int:
        """How many anchors (grid cells over all strides) an input of (height, width) gives."""
        return sum((shape[0] // s) * (shape[1] // s) for s in self.strides)

    def preprocess(self, image: np.ndarray, size: int, stride: int | None = None) -> tuple[np.ndarray, LetterboxInfo]:
        """HWC uint8 BGR image -> CHW float32 tensor (square, or rectangular with ``stride``)."""
        boxed, info = letterbox(image, size, centered=self.centered, stride=stride)
        if self.rgb:
            boxed = boxed[:, :, ::-1]
        tensor = boxed.transpose(2, 0, 1).astype(np.float32)
        if self.scale01:
            tensor *= 1.0 / 255.0
        return tensor, info

    def decode(self, output: np.ndarray, shape: tuple[int, int], score_threshold: float) -> RawBoxes:
        """One image's raw output -> boxes; ``shape`` is the input's (height, width)."""
        raise NotImplementedError


class YoloxFamily(Family):
    name = "yolox"

    @staticmethod
    @lru_cache(maxsize=8)
    def _grid(shape: tuple[int, int], strides: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        grids, expanded = [], []
        for s in strides:
            ny, nx = shape[0] // s, shape[1] // s
            yv, xv = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
            grids.append(np.stack([xv, yv], axis=2).reshape(-1, 2))
            expanded.append(np.full((ny * nx, 1), s))
        return np.concatenate(grids).astype(np.float32), np.concatenate(expanded).astype(np.float32)

    def decode(self, output: np.ndarray, shape: tuple[int, int], score_threshold: float) -> RawBoxes:
        grid, stride = self._grid(shape, self.strides)
        if len(grid) != len(output):
            raise ValueError(f"YOLOX output has {len(output)} anchors, a {shape[0]}x{shape[1]} input gives {len(grid)}")
        # score = objectness x class score <= objectness: drop most anchors before the class argmax
        cand = np.flatnonzero(output[:, 4] >= score_threshold)
        out = output[cand]
        cls = out[:, 5:]
        class_id = cls.argmax(axis=1)
        score = out[:, 4] * cls[np.arange(len(cls)), class_id]
        keep = score >= score_threshold
        out, idx = out[keep], cand[keep]
        centre = (out[:, :2] + grid[idx]) * stride[idx]
        wh = np.exp(out[:, 2:4]) * stride[idx]
        xyxy = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)
        return RawBoxes(xyxy, score[keep].astype(np.float32), class_id[keep])


class UltralyticsFamily(Family):
    name = "ultralytics"
    centered = True
    rgb = True
    scale01 = True

    def decode(self, output: np.ndarray, shape: tuple[int, int], score_threshold: float) -> RawBoxes:
        anchors = self.anchors(shape)
        if output.shape[1] != anchors:
            raise ValueError(f"output has {output.shape[1]} anchors, a {shape[0]}x{shape[1]} input gives {anchors}")
        pred = output.T  # [A, 4+C]
        cls = pred[:, 4:]
        class_id = cls.argmax(axis=1)
        score = cls[np.arange(len(cls)), class_id]
        keep = score >= score_threshold
        box = pred[keep, :4]
        xyxy = np.concatenate([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], axis=1)
        return RawBoxes(xyxy, score[keep].astype(np.float32), class_id[keep])


FAMILIES: dict[str, Family] = {"yolox": YoloxFamily(), "ultralytics": UltralyticsFamily()}


def guess_family(output_shape: list[int | str | None], num_classes: int) -> str | None:
    """YOLOX emits [B, A, 5+C]; Ultralytics emits [B, 4+C, A]."""
    if len(output_shape) != 3:
        return None
    a, b = output_shape[1], output_shape[2]
    if b == 5 + num_classes:
        return "yolox"
    if a == 4 + num_classes:
        return "ultralytics"
    return None
