"""Detections -> violations: tracker, zones, dwell timers, one rule per violation, incidents."""

from detectors.engine import CameraEngine
from detectors.events import CandidateEvent, EvidenceImage

__all__ = ["CameraEngine", "CandidateEvent", "EvidenceImage"]
