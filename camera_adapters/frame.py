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
    decoded: bool = True  # False: the stream's bytes showed nothing moved; ``image`` is the last decoded picture
    picture_ts: float | None = None  # capture time of ``image`` when it was not decoded for this frame
    stream_bytes: float | None = None  # mean bytes per inter frame since the last analysed key frame (keyframe-only RTSP)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
