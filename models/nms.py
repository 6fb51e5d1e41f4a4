"""Class-wise non-maximum suppression (OpenCV's batched NMS, vectorised in C++)."""

from __future__ import annotations

import cv2
import numpy as np


def classwise_nms(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray, iou: float, max_det: int = 300) -> np.ndarray:
    """Indices kept after per-class NMS, best first."""
    if len(score) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxesBatched(xywh.tolist(), score.tolist(), class_id.astype(int).tolist(), 0.0, iou)
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    keep = keep[np.argsort(-score[keep], kind="stable")]
    return keep[:max_det]
