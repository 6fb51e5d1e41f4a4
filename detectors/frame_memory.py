"""Recent frames, kept so the "first seen" evidence of a left-behind object shows the moment it
appeared, not the moment the engine was sure of it (seconds to minutes later).

Frames are kept as JPEG (about 1/15 of the raw size) at most every ``interval`` seconds for
``seconds``, and only the newest is held raw (it is encoded when the next one is due), so a camera
costs a few MB and one encode per interval.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np


class FrameMemory:
    """Thinned JPEG history of one camera's frames; ``at(ts)`` is the kept frame nearest ``ts``."""

    def __init__(self, seconds: float = 120.0, interval: float = 0.5, quality: int = 90) -> None:
        self.seconds = seconds
        self.interval = interval
        self.quality = quality
        self.frames: deque[tuple[float, bytes]] = deque()
        self._raw: tuple[float, np.ndarray] | None = None

    def add(self, ts: float, image: np.ndarray) -> None:
        last = self._raw[0] if self._raw is not None else (self.frames[-1][0] if self.frames else None)
        if last is not None and ts - last < self.interval - 1e-6:
            return
        if self._raw is not None:
            ok, buf = cv2.imencode(".jpg", self._raw[1], [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if ok:
                self.frames.append((self._raw[0], buf.tobytes()))
        self._raw = (ts, image.copy())  # sources may reuse their frame buffers
        while self.frames and ts - self.frames[0][0] > self.seconds:
            self.frames.popleft()

    def at(self, ts: float) -> tuple[float, np.ndarray] | None:
        """The first kept frame at or after ``ts`` when one is within ``interval`` (it shows what
        appeared at ``ts``), else the nearest kept frame; None when nothing is kept."""
        kept = list(self.frames) + ([self._raw] if self._raw is not None else [])
        if not kept:
            return None
        after = [k for k in kept if ts - 1e-6 <= k[0] <= ts + self.interval + 1e-6]
        t, data = after[0] if after else min(kept, key=lambda k: abs(k[0] - ts))
        if isinstance(data, np.ndarray):
            return t, data.copy()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return (t, image) if image is not None else None
