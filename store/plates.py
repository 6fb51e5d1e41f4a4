"""A candidate's plate: the OCR reading kept in `attributes['plate']`, and the reviewer's correction.

A reviewer's correction is final: later OCR readings of the same vehicle never overwrite it. The
notices and cases of the candidate carry the plate too and are updated with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.detectors.plates import PlateReading, normalise, plate_kind
from streetwarden.store.errors import Invalid, NotFound
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import actor_name, case_json
from streetwarden.store.outbox import enqueue
from streetwarden.store.schema import Candidate, now
from streetwarden.config import Settings


def plate_of(candidate: Candidate) -> dict[str, Any] | None:
    return (candidate.attributes or {}).get("plate")


def apply_reading(candidate: Candidate, reading: PlateReading, ts: float) -> bool:
    """Keep an OCR reading if it beats the stored one (a certain reading beats any uncertain one);
    never over a reviewer's correction."""
    current = plate_of(candidate)
    if current and (current.get("source") == "reviewer"
                    or (not current.get("uncertain"), float(current.get("confidence") or 0)) >= (not reading.uncertain, reading.confidence)):
        return False
    stored: dict[str, Any] = {"text": reading.text, "confidence": reading.confidence, "kind": reading.kind, "source": "ocr", "ts": ts}
    if reading.uncertain:
        stored["uncertain"] = reading.uncertain  # shown to the reviewer, never printed on a notice
    candidate.attributes = {**(candidate.attributes or {}), "plate": stored}
    return True


def correct_plate(s: Session, candidate_id: int, text: str, user: object, settings: Settings,
                  at: float | None = None) -> dict[str, Any]:
    """Set the plate a reviewer read; the text must be a mainland plate. Returns the stored plate."""
    candidate = s.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(f"candidate {candidate_id} does not exist")
    plate = normalise(text)
    kind = plate_kind(plate)
    if kind is None:
        raise Invalid(f"plate: '{text}' is not a mainland plate (province character, letter, 5 characters; "
                      "new-energy plates 6, e.g. 粤B12345 or 粤BD12345)")
    at = now() if at is None else at
    previous = plate_of(candidate)
    stored = {"text": plate, "confidence": 1.0, "kind": kind, "source": "reviewer", "corrected_by": actor_name(user),
              "corrected_at": at, "ocr": previous if previous and previous.get("source") == "ocr" else (previous or {}).get("ocr")}
    candidate.attributes = {**(candidate.attributes or {}), "plate": stored}
    for n in s.scalars(select(Notice).where(Notice.candidate_id == candidate_id)).all():
        n.plate_text, n.plate_confidence, n.updated_at = plate, 1.0, at
    for c in s.scalars(select(Case).where(Case.candidate_id == candidate_id)).all():
        c.plate_text, c.plate_confidence, c.updated_at = plate, 1.0, at
        s.flush()
        enqueue(s, settings.webhooks, "case.updated", c.ref or "", case_json(s, c), at)
    s.flush()
    return stored
