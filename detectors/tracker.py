"""A small ByteTrack-style IoU tracker.

Boxes are matched to tracks by IoU with the Hungarian method, high-score detections first, then
low-score ones (ByteTrack's trick to keep occluded objects). Vehicles form one class group, so a van
the model calls `truck` in one frame and `car` in the next stays one track; two-wheelers form another
(an e-bike is `bicycle` now, `motorcycle` next); a track's label is the score-weighted vote over its life.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from streetwarden.models.detections import Detections, box_iou

VEHICLE_LABELS = frozenset({"car", "truck", "bus"})
CYCLE_LABELS = frozenset({"bicycle", "motorcycle", "tricycle"})  # an e-bike flips between bicycle and motorcycle
CLASS_GROUPS = {name: "vehicle" for name in VEHICLE_LABELS} | {name: "cycle" for name in CYCLE_LABELS}


def class_group(label: str) -> str:
    return CLASS_GROUPS.get(label, label)


@dataclass
class Track:
    """One object followed over time."""

    id: int
    box: np.ndarray
    score: float
    first_ts: float
    last_ts: float
    group: str
    votes: dict[str, float] = field(default_factory=dict)
    hits: int = 1
    best_score: float = 0.0
    best_box: np.ndarray | None = None
    best_ts: float = 0.0
    origin: np.ndarray | None = None  # anchor where the track started

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = self.anchor

    def lingering(self, ts: float, min_seconds: float = 5.0) -> bool:
        """Stayed around one spot (within one box height) for at least min_seconds: not a passer-by."""
        height = float(self.box[3] - self.box[1])
        return ts - self.first_ts >= min_seconds and float(np.linalg.norm(self.anchor - self.origin)) <= height

    @property
    def label(self) -> str:
        return max(self.votes.items(), key=lambda kv: kv[1])[0]

    @property
    def anchor(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, self.box[3]], np.float32)

    def observe(self, box: np.ndarray, score: float, label: str, ts: float) -> None:
        self.box = box.copy()
        self.score = score
        self.last_ts = ts
        self.hits += 1
        self.votes[label] = self.votes.get(label, 0.0) + score
        if score >= self.best_score:
            self.best_score, self.best_box, self.best_ts = score, box.copy(), ts


class IouTracker:
    """Keeps tracks across frames of one camera; `update` returns (tracks seen now, their det index)."""

    def __init__(self, iou_match: float = 0.3, high_score: float = 0.5, lost_seconds: float = 10.0,
                 new_track_score: float = 0.25) -> None:
        self.iou_match = iou_match
        self.high_score = high_score
        self.new_track_score = new_track_score
        self.lost_seconds = lost_seconds
        self.tracks: list[Track] = []
        self._next_id = 1

    def _match(self, tracks: list[Track], boxes: np.ndarray, groups: list[str]) -> list[tuple[int, int]]:
        if not tracks or len(boxes) == 0:
            return []
        iou = box_iou(np.stack([t.box for t in tracks]), boxes)
        same = np.array([[t.group == g for g in groups] for t in tracks])
        iou = np.where(same, iou, 0.0)
        rows, cols = linear_sum_assignment(-iou)
        return [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= self.iou_match]

    def update(self, dets: Detections, ts: float) -> list[tuple[Track, int]]:
        """Advance to time ``ts``; returns every track observed in this frame with its detection index."""
        labels = dets.label_names()
        groups = [class_group(n) for n in labels]
        self.tracks = [t for t in self.tracks if ts - t.last_ts <= self.lost_seconds]
        seen: list[tuple[Track, int]] = []
        high = np.flatnonzero(dets.score >= self.high_score)
        low = np.flatnonzero(dets.score < self.high_score)
        free = list(self.tracks)
        for subset in (high, low):
            pairs = self._match(free, dets.xyxy[subset], [groups[i] for i in subset])
            used_tracks = set()
            for r, c in pairs:
                det = int(subset[c])
                track = free[r]
                track.observe(dets.xyxy[det], float(dets.score[det]), labels[det], ts)
                seen.append((track, det))
                used_tracks.add(r)
            matched_dets = {int(subset[c]) for _, c in pairs}
            # unmatched detections start tracks: all high ones, and low ones above new_track_score
            # (a stall or a bag seen at 0.3 every frame is worth following; dwell filters flicker)
            for det in subset:
                if int(det) in matched_dets or dets.score[det] < self.new_track_score:
                    continue
                track = Track(self._next_id, dets.xyxy[det].copy(), float(dets.score[det]), ts, ts, groups[det],
                              {labels[det]: float(dets.score[det])}, best_score=float(dets.score[det]),
                              best_box=dets.xyxy[det].copy(), best_ts=ts)
                self._next_id += 1
                self.tracks.append(track)
                seen.append((track, int(det)))
            free = [t for i, t in enumerate(free) if i not in used_tracks]
        return seen
