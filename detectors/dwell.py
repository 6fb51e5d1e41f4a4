"""Per-zone dwell timers: how long an object has stood still in a zone.

A timer belongs to (zone, object key). When the tracker loses an object and finds it again under a
new track id, the new timer inherits the old one's start if it starts where the old one stopped
(same zone, boxes overlapping), so a passer-by's occlusion does not reset a parked car's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streetwarden.models.detections import box_iou


@dataclass
class Dwell:
    zone_id: str
    key: int
    start_ts: float
    start_anchor: np.ndarray
    box: np.ndarray
    last_ts: float
    first_frame: np.ndarray | None
    first_box: np.ndarray
    hits: int = 0
    companion_hits: int = 0
    sighted: float | None = None  # the first-sight time last told to the engine's listener

    def elapsed(self, ts: float) -> float:
        return ts - self.start_ts


def anchor_of(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, box[3]], np.float32)


class DwellTimers:
    """Dwell states of one camera, keyed by (zone id, object key)."""

    def __init__(self, lost_seconds: float = 10.0, memory_seconds: float = 120.0, inherit_iou: float = 0.4) -> None:
        self.lost_seconds = lost_seconds
        self.memory_seconds = memory_seconds
        self.inherit_iou = inherit_iou
        self.active: dict[tuple[str, int], Dwell] = {}
        self.recent: list[Dwell] = []

    def observe(self, zone_id: str, key: int, box: np.ndarray, ts: float, frame: np.ndarray,
                max_displacement: float, companion: bool = False) -> Dwell:
        """Record that object `key` is in `zone_id` now; restart the clock if it moved."""
        anchor = anchor_of(box)
        state = self.active.get((zone_id, key))
        if state is None:
            state = self._inherit(zone_id, key, box, ts) or Dwell(zone_id, key, ts, anchor, box.copy(), ts, frame, box.copy())
            self.active[(zone_id, key)] = state
        size = float(max(box[2] - box[0], box[3] - box[1], 1.0))
        if float(np.linalg.norm(anchor - state.start_anchor)) > max_displacement * size:
            state.start_ts, state.start_anchor, state.first_frame, state.first_box = ts, anchor, frame, box.copy()
            state.hits = state.companion_hits = 0
        state.box = box.copy()
        state.last_ts = ts
        state.hits += 1
        state.companion_hits += int(companion)
        return state

    def _inherit(self, zone_id: str, key: int, box: np.ndarray, ts: float) -> Dwell | None:
        best, best_iou = None, self.inherit_iou
        for old in self.recent:
            if old.zone_id != zone_id or ts - old.last_ts > self.memory_seconds:
                continue
            iou = float(box_iou(box[None], old.box[None])[0, 0])
            if iou >= best_iou:
                best, best_iou = old, iou
        if best is None:
            return None
        self.recent.remove(best)
        best.key = key
        return best

    def sweep(self, ts: float, present: set[tuple[str, int]]) -> list[Dwell]:
        """Retire timers of objects not seen in their zone for `lost_seconds` (kept for inheritance);
        returns those now forgotten (no new track can inherit them any more)."""
        for k, state in list(self.active.items()):
            if k not in present and ts - state.last_ts > self.lost_seconds:
                del self.active[k]
                self.recent.append(state)
        forgotten = [d for d in self.recent if ts - d.last_ts > self.memory_seconds]
        self.recent = [d for d in self.recent if ts - d.last_ts <= self.memory_seconds]
        return forgotten
