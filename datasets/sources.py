"""Reviewed candidates as labelled sources: what a decision says about the object in the frame.

- warn / case: the reviewer confirmed the object: a positive box of its class.
- reject with reason ``false_detection``: the detector saw something that is not there (or not of
  that class): a hard negative, the frame with no box of that class.
- other reject reasons (``not_a_violation``: the object is real but allowed there; ``duplicate``;
  ``other``) say nothing reliable about the object, so they are left out (and listed as such).

A reviewer's class/box correction (stored with the decision, see docs/review.md) replaces the
detector's class and box in the label, and turns a reject (``false_detection``: the detector named
the wrong class) into a positive of the corrected class: see :func:`correction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.store.review import Decision
from streetwarden.store.schema import Candidate, Evidence

# evidence kinds that hold the whole frame, best first: `clean` has no box drawn on it (the picture
# as the camera saw it); `frame` has the candidate's box drawn (what the pipeline stores today)
FRAME_KINDS = ("clean", "frame")
CONFIRMED = ("warn", "case")
NEGATIVE_REASONS = ("false_detection",)


@dataclass(frozen=True)
class Filters:
    """Which reviewed candidates to export."""

    since: float | None = None
    violations: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One decided candidate and the frame it is labelled on."""

    candidate_id: int
    camera_id: str
    violation: str
    decision: str
    reason: str | None
    decided_at: float
    role: str  # positive | negative | excluded
    label: str
    box: tuple[float, float, float, float]  # source pixels
    frame_size: tuple[int, int]  # the candidate's (width, height)
    ts: float
    image_path: Path | None  # absolute; None when the candidate has no frame evidence
    image_sha256: str | None
    image_size: tuple[int, int]  # the evidence picture's (width, height)
    image_kind: str | None
    corrected: bool
    reviewer: str = ""  # who decided (and corrected, when `corrected`)
    detected: tuple[str, tuple[float, ...]] | None = None  # the detector's (label, box) a correction replaced


def correction(decision: Decision, candidate: Candidate, size: tuple[int, int]) -> tuple[str, list[float]] | None:
    """The reviewer's corrected (label, box in source pixels), or None.

    The decision stores the box in fractions of the evidence frame; ``size`` is the frame's (width,
    height) the label file is normalised by. A correction of only one of the two keeps the other."""
    label, box = decision.corrected_label, decision.corrected_box
    if label is None and box is None:
        return None
    w, h = size
    pixels = [float(v) * d for v, d in zip(box, (w, h, w, h))] if box else [float(v) for v in candidate.box]
    return str(label or candidate.label), pixels


def role_of(decision: str, reason: str | None, corrected: bool) -> str:
    if decision in CONFIRMED or (decision == "reject" and corrected):
        return "positive"
    if decision == "reject" and reason in NEGATIVE_REASONS:
        return "negative"
    return "excluded"


def _frame_evidence(rows: list[Evidence]) -> Evidence | None:
    by_kind = {e.kind: e for e in sorted(rows, key=lambda e: e.id)}
    return next((by_kind[k] for k in FRAME_KINDS if k in by_kind), None)


def reviewed_sources(s: Session, storage: Path, filters: Filters) -> list[Source]:
    """Every finally decided candidate that matches ``filters``, oldest candidate first."""
    stmt = (select(Decision, Candidate).join(Candidate, Candidate.id == Decision.candidate_id)
            .where(Decision.decision.in_(CONFIRMED + ("reject",))))
    if filters.since is not None:
        stmt = stmt.where(Candidate.last_seen >= filters.since)
    if filters.violations:
        stmt = stmt.where(Candidate.violation.in_(filters.violations))
    if filters.cameras:
        stmt = stmt.where(Candidate.camera_id.in_(filters.cameras))
    rows = s.execute(stmt.order_by(Candidate.id)).all()
    ids = [c.id for _, c in rows]
    evidence: dict[int, list[Evidence]] = {}
    if ids:
        for e in s.scalars(select(Evidence).where(Evidence.candidate_id.in_(ids), Evidence.kind.in_(FRAME_KINDS))):
            evidence.setdefault(e.candidate_id, []).append(e)
    out = []
    for d, c in rows:
        ev = _frame_evidence(evidence.get(c.id, []))
        size = (c.frame_width, c.frame_height) if c.frame_width and c.frame_height else (
            (ev.width, ev.height) if ev else (0, 0))
        fixed = correction(d, c, size)
        label, box = fixed if fixed else (c.label, c.box)
        out.append(Source(
            candidate_id=c.id, camera_id=c.camera_id, violation=c.violation, decision=d.decision, reason=d.reason,
            decided_at=d.decided_at, role=role_of(d.decision, d.reason, fixed is not None), label=label,
            box=tuple(float(v) for v in box), frame_size=(c.frame_width, c.frame_height),  # type: ignore[arg-type]
            ts=ev.ts if ev else c.last_seen, image_path=(storage / ev.path) if ev else None,
            image_sha256=ev.sha256 if ev else None, image_size=(ev.width, ev.height) if ev else (0, 0),
            image_kind=ev.kind if ev else None, corrected=fixed is not None, reviewer=d.username,
            detected=(c.label, tuple(float(v) for v in c.box)) if fixed else None))
    return out
