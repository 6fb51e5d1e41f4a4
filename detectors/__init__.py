"""Detections -> violations: tracker, zones, dwell timers, one rule per violation, incidents."""

from streetwarden.detectors.engine import CameraEngine
from streetwarden.detectors.events import CandidateEvent, EvidenceImage

__all__ = ["CameraEngine", "CandidateEvent", "EvidenceImage"]
