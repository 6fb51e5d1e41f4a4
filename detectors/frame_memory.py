"""Recent frames, kept so the "first seen" evidence of a left-behind object shows the moment it
appeared, not the moment the engine was sure of it (seconds to minutes later).

Frames are kept at most ``max_width`` pixels wide (a 720p frame: 640x360), one per ``interval``
seconds: raw for the last ``raw_seconds`` (most objects are found within seconds of appearing: an
exact frame, no encoding), and one per ``old_interval`` as JPEG for ``seconds`` (an object found
late, e.g. a bag that stood at its owner's feet). A camera costs ~20 MB and one small encode per
``old_interval``. A kept frame comes back at the source size (upscaled), so boxes drawn on it fit.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np


class FrameMemory:
    """Thinned history of one camera's frames; ``at(ts)`` is the kept frame for time ``ts``."""

    def __init__(self, seconds: float = 120.0, interval: float = 0.5, raw_seconds: float = 12.0,
                 old_interval: float = 2.0, quality: int = 90, max_width: int = 640) -> None:
        self.seconds = seconds
        self.interval = interval
        self.raw_seconds = raw_seconds
        self.old_interval = old_interval
        self.quality = quality
        self.max_width = max_width
        self.size: tuple[int, int] | None = None  # (W, H) of the source frames
        self.raw: deque[tuple[float, np.ndarray]] = deque()
        self.old: deque[tuple[float, bytes]] = deque()

    def add(self, ts: float, image: np.ndarray, small: np.ndarray | None = None) -> None:
        """Keep ``image`` if its turn has come; ``small`` is the same frame already downscaled to
        ``max_width`` by the caller (the engine's model makes one anyway): kept as it is, not copied,
        so it must be an array of its own."""
        if self.raw and ts - self.raw[-1][0] < self.interval - 1e-6:
            return
        H, W = image.shape[:2]
        self.size = (W, H)
        if W <= self.max_width:
            small = image.copy()  # a new array: safe even if the source reuses its frame buffer
        elif small is None or small.shape[1] != self.max_width:
            small = cv2.resize(image, (self.max_width, max(1, round(H * self.max_width / W))), interpolation=cv2.INTER_LINEAR)
        self.raw.append((ts, small))
        while ts - self.raw[0][0] > self.raw_seconds:
            t, frame = self.raw.popleft()
            if not self.old or t - self.old[-1][0] >= self.old_interval - 1e-6:
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if ok:
                    self.old.append((t, buf.tobytes()))
        while self.old and ts - self.old[0][0] > self.seconds:
            self.old.popleft()

    def at(self, ts: float) -> tuple[float, np.ndarray] | None:
        """The first kept frame at or after ``ts`` when one is within ``interval`` (it shows what
        appeared at ``ts``), else the nearest kept frame; None when nothing is kept."""
        kept: list[tuple[float, bytes | np.ndarray]] = [*self.old, *self.raw]
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
