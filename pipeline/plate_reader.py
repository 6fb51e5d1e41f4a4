"""Plates of sidewalk-parking candidates, read in the worker from the best vehicle frame of each event.

OCR (~0.5 s a crop on one core) runs before the database transaction opens, so it never holds a
write lock; only the result is applied inside it.
"""

from __future__ import annotations

import logging

from streetwarden.detectors.events import CandidateEvent
from streetwarden.detectors.plates import PlateReading, read_plate
from streetwarden.models.plate_ocr import PlateOCR
from streetwarden.store.plates import apply_reading
from streetwarden.store.schema import Candidate
from streetwarden.config import PlatesConfig
from streetwarden.logs import event

log = logging.getLogger("streetwarden.plates")
PLATE_VIOLATIONS = ("sidewalk_parking",)


class PlateReader:
    """Reads when an event brings a new best view of a parked vehicle (open, or a better crop)."""

    def __init__(self, cfg: PlatesConfig, ocr: PlateOCR | None = None) -> None:
        self.cfg = cfg
        self.ocr = ocr or PlateOCR()

    def read(self, ev: CandidateEvent) -> tuple[PlateReading, float] | None:
        """(reading, ts of the view) for an event with a new vehicle crop, else None."""
        if ev.violation not in PLATE_VIOLATIONS:
            return None
        view = next((e for e in ev.evidence if e.kind == "crop" and e.box is not None), None)
        if view is None:
            return None
        reading = read_plate(self.ocr, view.image, view.box, self.cfg.min_confidence)
        return (reading, view.ts) if reading is not None else None

    def apply(self, row: Candidate, found: tuple[PlateReading, float] | None) -> bool:
        """Keep the reading on the candidate if it beats what is stored (never over a reviewer's plate)."""
        if found is None:
            return False
        reading, ts = found
        kept = apply_reading(row, reading, ts)
        if kept:
            event(log, "plate_read", camera=row.camera_id, candidate=row.id, plate=reading.text,
                  confidence=reading.confidence, uncertain=reading.uncertain)
        return kept

    def update(self, row: Candidate, ev: CandidateEvent) -> bool:
        return self.apply(row, self.read(ev))
