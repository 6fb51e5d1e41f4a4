"""One real-world violation = one incident, however often the tracker loses and re-finds it.

An incident is keyed by zone + place + time: a qualifying object whose box overlaps an incident of
the same zone and violation that was seen within the de-duplication window joins that incident
(an `update`), instead of raising a new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from streetwarden.detectors.events import CandidateEvent, EvidenceImage
from streetwarden.models.detections import box_iou


@dataclass
class Incident:
    id: str
    zone_id: str
    violation: str
    label: str
    score: float
    box: np.ndarray
    first_seen: float
    last_seen: float
    last_emitted: float
    closed: bool = False
    attributes: dict = field(default_factory=dict)


class IncidentBook:
    """Active incidents of one camera; emits open/update/close events."""

    def __init__(self, camera_id: str, live: bool, window_seconds: float, min_iou: float,
                 close_after: float = 30.0, update_every: float = 15.0) -> None:
        self.camera_id = camera_id
        self.live = live
        self.window = window_seconds
        self.min_iou = min_iou
        self.close_after = close_after
        self.update_every = update_every
        self.incidents: list[Incident] = []

    def _find(self, zone_id: str, violation: str, box: np.ndarray, ts: float) -> Incident | None:
        best, best_iou = None, self.min_iou
        for inc in self.incidents:
            if inc.zone_id != zone_id or inc.violation != violation or ts - inc.last_seen > self.window:
                continue
            iou = float(box_iou(box[None], inc.box[None])[0, 0])
            if iou >= best_iou:
                best, best_iou = inc, iou
        return best

    def report(self, *, zone_id: str, violation: str, label: str, score: float, box: np.ndarray,
               first_seen: float, ts: float, frame: np.ndarray, first_frame: np.ndarray | None,
               first_box: np.ndarray | None, extra: list[EvidenceImage] | None = None,
               attributes: dict | None = None, first_ts: float | None = None) -> CandidateEvent | None:
        """A qualifying observation at time ts; returns the event to store, if any is due."""
        size = (int(frame.shape[1]), int(frame.shape[0]))
        inc = self._find(zone_id, violation, box, ts)
        if inc is None:
            inc = Incident(uuid.uuid4().hex, zone_id, violation, label, score, box.copy(), first_seen, ts, ts,
                           attributes=dict(attributes or {}))
            self.incidents.append(inc)
            evidence = [EvidenceImage("frame", frame, ts, box), EvidenceImage("crop", frame, ts, box, crop=True)]
            if first_frame is not None:
                # the picture of the first sighting, stamped with when it was taken
                evidence.append(EvidenceImage("first", first_frame, first_seen if first_ts is None else first_ts, first_box))
            evidence.extend(extra or [])
            return self._event("open", inc, evidence, size)
        reopened = inc.closed
        inc.closed = False
        inc.last_seen = max(inc.last_seen, ts)
        inc.first_seen = min(inc.first_seen, first_seen)
        inc.attributes.update(attributes or {})
        evidence: list[EvidenceImage] = []
        if score > inc.score + 0.05:
            inc.score, inc.box, inc.label = score, box.copy(), label
            evidence = [EvidenceImage("frame", frame, ts, box), EvidenceImage("crop", frame, ts, box, crop=True)]
        if reopened or evidence or ts - inc.last_emitted >= self.update_every:
            inc.last_emitted = ts
            return self._event("update", inc, evidence, size)
        return None

    def sweep(self, ts: float) -> list[CandidateEvent]:
        """Close incidents not seen for `close_after` s; forget them after the window."""
        events = []
        for inc in self.incidents:
            if not inc.closed and ts - inc.last_seen >= self.close_after:
                inc.closed = True
                events.append(self._event("close", inc, [], (0, 0)))
        self.incidents = [i for i in self.incidents if ts - i.last_seen <= self.window]
        return events

    def flush(self) -> list[CandidateEvent]:
        """End of a file source: report the final last_seen of every open incident."""
        events = [self._event("close", i, [], (0, 0)) for i in self.incidents if not i.closed]
        for inc in self.incidents:
            inc.closed = True
        return events

    def _event(self, kind: str, inc: Incident, evidence: list[EvidenceImage], size: tuple[int, int]) -> CandidateEvent:
        return CandidateEvent(kind, inc.id, self.camera_id, inc.zone_id, inc.violation, inc.label, inc.score,
                              inc.box.copy(), inc.first_seen, inc.last_seen, self.live, size, evidence,
                              dict(inc.attributes))
