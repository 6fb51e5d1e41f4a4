"""Recent frames, kept so the "first seen" evidence of a left-behind object shows the moment it
appeared, not the moment the engine was sure of it (seconds to minutes later).

Frames are kept as JPEG at most ``max_width`` pixels wide (a 720p frame: 640x360, about 1/40 of its
raw size and a quarter of the encode time) at most every ``interval`` seconds for ``seconds``; only
the newest is held raw (encoded when the next one is due). A camera costs a few MB and ~1 ms per
interval. A kept frame comes back at the source size (upscaled), so boxes drawn on it fit.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np


class FrameMemory:
    """Thinned JPEG history of one camera's frames; ``at(ts)`` is the kept frame nearest ``ts``."""

    def __init__(self, seconds: float = 120.0, interval: float = 0.5, quality: int = 90, max_width: int = 640) -> None:
        self.seconds = seconds
        self.interval = interval
        self.quality = quality
        self.max_width = max_width
        self.size: tuple[int, int] | None = None  # (W, H) of the source frames
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
        H, W = image.shape[:2]
        self.size = (W, H)
        if W > self.max_width:  # a new array: safe even if the source reuses its frame buffer
            small = cv2.resize(image, (self.max_width, max(1, round(H * self.max_width / W))), interpolation=cv2.INTER_LINEAR)
        else:
            small = image.copy()
        self._raw = (ts, small)
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
        image = data.copy() if isinstance(data, np.ndarray) else cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        if self.size is not None and (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
        return t, image
