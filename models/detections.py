"""The one currency between models and detectors: vectorised detections of one frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


@dataclass(frozen=True)
class Detections:
    """Boxes of one frame as parallel numpy arrays (no per-box Python objects on the hot path).

    ``xyxy`` is float32 [N, 4] in source-image pixels; ``labels`` maps class ids to names.
    """

    xyxy: np.ndarray
    score: np.ndarray
    class_id: np.ndarray
    labels: tuple[str, ...] = field(default=COCO_LABELS)

    @classmethod
    def empty(cls, labels: tuple[str, ...] = COCO_LABELS) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), labels)

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> "Detections":
        return Detections(self.xyxy[index], self.score[index], self.class_id[index], self.labels)

    def label_names(self) -> list[str]:
        return [self.labels[int(c)] if 0 <= int(c) < len(self.labels) else str(int(c)) for c in self.class_id]

    def class_ids_for(self, names: list[str] | set[str] | tuple[str, ...]) -> np.ndarray:
        wanted = set(names)
        return np.array([i for i, n in enumerate(self.labels) if n in wanted], dtype=np.int64)

    def with_labels(self, names: list[str] | set[str] | tuple[str, ...]) -> "Detections":
        return self[np.isin(self.class_id, self.class_ids_for(names))]

    def anchors(self) -> np.ndarray:
        """Bottom-centre points [N, 2]: where an object touches the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]).clip(0) * (self.xyxy[:, 3] - self.xyxy[:, 1]).clip(0)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a [N,4] and b [M,4] -> [N,M]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((br - tl).clip(0), axis=2)
    area_a = np.prod((a[:, 2:] - a[:, :2]).clip(0), axis=1)
    area_b = np.prod((b[:, 2:] - b[:, :2]).clip(0), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
