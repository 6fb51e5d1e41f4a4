"""What every camera adapter yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Frame:
    """One decoded picture of one camera.

    ``ts`` is seconds: from the start of the file for file sources (``live`` False), Unix time for
    live sources, so candidates of recorded footage are reproducible run after run.
    """

    camera_id: str
    ts: float
    image: np.ndarray
    index: int = 0
    live: bool = False
    prepared: Any = None  # model input made in the reader thread (letterboxed tensor + info)
    motion: Any = None  # grey thumbnail for the worker's change test (pipeline/motion_gate.py), when gating
    run_model: bool = True  # False: nothing moved, the camera's last detections carry forward

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
