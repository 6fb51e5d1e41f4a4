"""Candidate events into rows: open/update/close with de-duplication and evidence files.

De-duplication is done again here, against the database, so that a restart, a second run over the
same footage or a second worker never raises the same violation twice: same camera, zone and
violation, boxes overlapping, and time ranges within the window of each other.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.detectors.events import CandidateEvent
from streetwarden.models.detections import box_iou
from streetwarden.store.evidence import render, save_image, with_clean
from streetwarden.store.schema import Candidate, Evidence

log = logging.getLogger("streetwarden.store")
RAISED_BY = ("model", "model_sha256")  # attributes set when a candidate is raised, never by its updates


def dedupe_key(event: CandidateEvent, cell: int = 64) -> str:
    cx = int((event.box[0] + event.box[2]) / 2) // cell
    cy = int((event.box[1] + event.box[3]) / 2) // cell
    return f"{event.camera_id}/{event.zone_id}/{event.violation}/{cx},{cy}"


class CandidateWriter:
    """Applies candidate events to the database; one per worker."""

    def __init__(self, storage: Path, window_seconds: float = 900.0, min_iou: float = 0.3) -> None:
        self.storage = storage
        self.window = window_seconds
        self.min_iou = min_iou
        self._by_incident: dict[str, int] = {}

    def find_duplicate(self, s: Session, event: CandidateEvent) -> Candidate | None:
        rows = s.scalars(
            select(Candidate).where(
                Candidate.camera_id == event.camera_id,
                Candidate.zone_id == event.zone_id,
                Candidate.violation == event.violation,
                Candidate.live == event.live,
                Candidate.last_seen >= event.first_seen - self.window,
                Candidate.first_seen <= event.last_seen + self.window,
            )
        ).all()
        best, best_iou = None, self.min_iou
        for row in rows:
            iou = float(box_iou(np.asarray(row.box, np.float32)[None], event.box[None])[0, 0])
            if iou >= best_iou:
                best, best_iou = row, iou
        return best

    def apply(self, s: Session, event: CandidateEvent) -> tuple[Candidate, bool]:
        """Store one event; returns (candidate, created)."""
        row: Candidate | None = None
        cid = self._by_incident.get(event.incident)
        if cid is not None:
            row = s.get(Candidate, cid)
        if row is None:
            row = self.find_duplicate(s, event)
        created = row is None
        improved = created or event.score > row.score
        if row is None:
            row = Candidate(
                camera_id=event.camera_id, zone_id=event.zone_id, violation=event.violation, label=event.label,
                score=event.score, box=[round(float(v), 1) for v in event.box], first_seen=event.first_seen,
                last_seen=event.last_seen, live=event.live, active=event.kind != "close", status="pending",
                frame_width=event.frame_size[0], frame_height=event.frame_size[1],
                dedupe_key=dedupe_key(event), incident=event.incident, attributes=_jsonable(event.attributes),
            )
            s.add(row)
            s.flush()
        else:
            row.first_seen = min(row.first_seen, event.first_seen)
            row.last_seen = max(row.last_seen, event.last_seen)
            row.active = event.kind != "close"
            row.incident = event.incident
            if event.attributes:
                kept = {k: v for k, v in (row.attributes or {}).items() if k in RAISED_BY}  # the model that raised it
                row.attributes = {**(row.attributes or {}), **_jsonable(event.attributes), **kept}
            if event.score > row.score:
                row.score, row.label = event.score, event.label
                row.box = [round(float(v), 1) for v in event.box]
        self._by_incident[event.incident] = row.id
        kinds_present = {e.kind for e in row.evidence} if not created else set()
        for item in with_clean(event.evidence):
            # evidence is append-only; a kind already kept is added again only for a better view
            if item.kind in kinds_present and not (improved and item.kind in ("frame", "crop", "clean")):
                continue
            rel = f"evidence/{row.camera_id}/{row.id}/{item.kind}-{item.ts:.1f}.jpg"
            path, digest, w, h = save_image(self.storage, rel, render(item))
            s.add(Evidence(candidate_id=row.id, kind=item.kind, path=path, sha256=digest, width=w, height=h,
                           ts=item.ts, note=item.note))
        return row, created


def _jsonable(value: object) -> dict:
    def conv(v: object) -> object:
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return conv(value) if isinstance(value, dict) else {}
