"""A shadow model's candidate events into `shadow_candidates` (no evidence, no queue, no notices).

One row per shadow incident, updated while it lasts, so the report counts would-be candidates the
way the queue counts real ones.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from streetwarden.detectors.events import CandidateEvent
from streetwarden.store.model_registry.models import ShadowCandidate


class ShadowWriter:
    """Applies shadow events; one per worker (remembers which row each incident became)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], int] = {}

    def apply(self, s: Session, version_id: int, e: CandidateEvent) -> tuple[ShadowCandidate, bool]:
        key = (version_id, e.incident)
        row = s.get(ShadowCandidate, self._rows[key]) if key in self._rows else None
        box = [round(float(v), 1) for v in e.box]
        if row is None:
            row = ShadowCandidate(model_version_id=version_id, camera_id=e.camera_id, zone_id=e.zone_id,
                                  violation=e.violation, label=e.label, score=float(e.score), box=box,
                                  first_seen=e.first_seen, last_seen=e.last_seen, live=e.live, incident=e.incident)
            s.add(row)
            s.flush()
            self._rows[key] = row.id
            return row, True
        row.first_seen, row.last_seen = min(row.first_seen, e.first_seen), max(row.last_seen, e.last_seen)
        if e.score > row.score:
            row.score, row.label, row.box = float(e.score), e.label, box
        return row, False
