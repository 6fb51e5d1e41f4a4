"""Is the violation still there? The re-check of a notice compares the camera's current view with
what the notice recorded: a detection of a matching class overlapping the recorded box, or, for
left-behind objects that the model may not name, the recorded box region still looking like the
evidence crop."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from streetwarden.models.detections import Detections, box_iou

# Violations whose object the model may not name (left-behind objects) also count as still there while
# the place looks like the evidence. bin_overflow is judged by its class alone: the bin itself stays
# after it is emptied, so the place still looks like the evidence; only `overflow` gone (the model sees
# a `garbage_bin`, or nothing) tells that the contractor came.
SIMILARITY_VIOLATIONS = ("illegal_dumping", "out_of_shop")


@dataclass
class Presence:
    present: bool
    reason: str
    match_box: np.ndarray | None = None
    iou: float = 0.0
    similarity: float | None = None


def scale_box(box: list[float] | np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """A box recorded at one frame size, in the pixels of another (a stream's resolution may change)."""
    b = np.asarray(box, np.float32)
    if from_size[0] <= 0 or from_size[1] <= 0 or from_size == to_size:
        return b
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return b * np.array([sx, sy, sx, sy], np.float32)


def region_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation (-1..1) of two image regions, compared in grey at a's size."""
    if a.size == 0 or b.size == 0:
        return -1.0
    ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY) if a.ndim == 3 else a
    gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY) if b.ndim == 3 else b
    gb = cv2.resize(gb, (ga.shape[1], ga.shape[0]), interpolation=cv2.INTER_AREA)
    x = ga.astype(np.float32).ravel() - float(ga.mean())
    y = gb.astype(np.float32).ravel() - float(gb.mean())
    denom = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y / denom) if denom > 1e-6 else -1.0


def still_there(box: np.ndarray, dets: Detections, labels: frozenset[str] | set[str], *, min_score: float = 0.3,
                min_iou: float = 0.3, violation: str = "", current_crop: np.ndarray | None = None,
                evidence_crop: np.ndarray | None = None, min_similarity: float = 0.6) -> Presence:
    """Decide from one analysed frame whether the object at `box` is still there."""
    keep = np.isin(np.array(dets.label_names(), dtype=object), list(labels)) & (dets.score >= min_score) if len(dets) else np.zeros(0, bool)
    cand = dets[np.flatnonzero(keep)] if len(dets) else dets
    if len(cand):
        ious = box_iou(box[None].astype(np.float32), cand.xyxy)[0]
        best = int(np.argmax(ious))
        if float(ious[best]) >= min_iou:
            label = cand.label_names()[best]
            return Presence(True, f"{label} ({float(cand.score[best]):.2f}) overlaps the notice box, IoU {float(ious[best]):.2f}",
                            cand.xyxy[best].copy(), float(ious[best]))
        best_iou = float(ious[best])
    else:
        best_iou = 0.0
    if violation in SIMILARITY_VIOLATIONS and current_crop is not None and evidence_crop is not None:
        sim = region_similarity(evidence_crop, current_crop)
        if sim >= min_similarity:
            return Presence(True, f"the place still looks like the evidence (correlation {sim:.2f})", None, best_iou, sim)
        return Presence(False, f"no matching object (best IoU {best_iou:.2f}) and the place no longer looks like "
                               f"the evidence (correlation {sim:.2f})", None, best_iou, sim)
    names = sorted(labels)
    shown = "/".join(names[:4]) + ("/…" if len(names) > 4 else "")
    return Presence(False, f"no {shown} overlaps the notice box (best IoU {best_iou:.2f})", None, best_iou)
