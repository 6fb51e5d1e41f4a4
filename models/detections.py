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


def merge(parts: list[Detections], iou: float = 0.45) -> tuple[Detections, np.ndarray]:
    """One frame's detections of several models as one Detections, so the rules and the tracker see
    one object once: the label table is the first part's followed by the names only later parts
    know (the first part's class ids stay valid); where two parts report the same label name for
    boxes overlapping at IoU >= ``iou`` (the runtime's NMS threshold) only the higher score is kept.
    Boxes of one part are never suppressed against each other (its own NMS already judged them).
    Also returns, per kept box, the index of the part it came from (which model raised a candidate)."""
    if not parts:
        raise ValueError("merge needs at least one Detections")
    index: dict[str, int] = {}
    for part in parts:
        for name in part.labels:
            index.setdefault(name, len(index))
    if len(parts) == 1:
        return parts[0], np.zeros(len(parts[0]), np.int64)
    xyxy = np.concatenate([p.xyxy for p in parts]).astype(np.float32, copy=False)
    score = np.concatenate([p.score for p in parts]).astype(np.float32, copy=False)
    # each part's class ids into the merged table, by name (ids lie in their own table: every family's do)
    class_id = np.concatenate([np.array([index[n] for n in p.labels], np.int64)[p.class_id] if len(p) else
                               np.zeros(0, np.int64) for p in parts])
    origin = np.concatenate([np.full(len(p), k, np.int64) for k, p in enumerate(parts)])
    keep = np.ones(len(score), bool)
    for c in np.unique(class_id):
        same = np.flatnonzero(class_id == c)
        if len(np.unique(origin[same])) < 2:
            continue  # one model only: nothing to merge
        order = same[np.argsort(-score[same], kind="stable")]
        overlap = box_iou(xyxy[order], xyxy[order])
        for a, i in enumerate(order):
            if keep[i]:  # a lower-scored box of another model over this one is the same object
                dup = (overlap[a, a + 1:] >= iou) & (origin[order[a + 1:]] != origin[i])
                keep[order[a + 1:][dup]] = False
    kept = np.flatnonzero(keep)
    return Detections(xyxy[kept], score[kept], class_id[kept], tuple(index)), origin[kept]
