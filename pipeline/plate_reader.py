"""Plates of sidewalk-parking candidates, read in the worker from the best vehicle frame of each event."""

from __future__ import annotations

import logging

from detectors.events import CandidateEvent
from detectors.plates import read_plate
from models.plate_ocr import PlateOCR
from store.plates import apply_reading, plate_of
from store.schema import Candidate
from streetwarden.config import PlatesConfig
from streetwarden.logs import event

log = logging.getLogger("streetwarden.plates")
PLATE_VIOLATIONS = ("sidewalk_parking",)


class PlateReader:
    """Runs OCR when an event brings a new best view of a parked vehicle (open, or a better crop)."""

    def __init__(self, cfg: PlatesConfig, ocr: PlateOCR | None = None) -> None:
        self.cfg = cfg
        self.ocr = ocr or PlateOCR()

    def update(self, row: Candidate, ev: CandidateEvent) -> bool:
        if ev.violation not in PLATE_VIOLATIONS:
            return False
        current = plate_of(row)
        if current and current.get("source") == "reviewer":
            return False
        view = next((e for e in ev.evidence if e.kind == "crop" and e.box is not None), None)
        if view is None:
            return False
        reading = read_plate(self.ocr, view.image, view.box, self.cfg.min_confidence)
        if reading is None:
            return False
        kept = apply_reading(row, reading, view.ts)
        if kept:
            event(log, "plate_read", camera=row.camera_id, candidate=row.id, plate=reading.text,
                  confidence=reading.confidence)
        return kept
