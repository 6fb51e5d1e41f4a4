"""Candidate events: what detectors hand to the store (open / update / close of one violation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class EvidenceImage:
    """A picture to keep with the candidate; `box` is drawn on it when set."""

    kind: str  # frame | clean (the frame without the box, added by the store) | crop | first | before | after | attribution | recheck
    image: np.ndarray
    ts: float
    box: np.ndarray | None = None
    crop: bool = False  # store only the box region (with a margin)
    note: str | None = None


@dataclass
class CandidateEvent:
    """One violation instance seen by a camera; `incident` is stable while it lasts in this run."""

    kind: str  # open | update | close
    incident: str
    camera_id: str
    zone_id: str
    violation: str
    label: str
    score: float
    box: np.ndarray
    first_seen: float
    last_seen: float
    live: bool
    frame_size: tuple[int, int] = (0, 0)
    evidence: list[EvidenceImage] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
