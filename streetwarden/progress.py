"""Progress lines (rate, ETA) for long command-line jobs."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints `label: done/total (rate/s, ETA)` to stderr at most every `every` seconds."""

    def __init__(self, label: str, total: int | None, unit: str = "frames", every: float = 2.0, stream=None,
                 scale: float = 1.0) -> None:
        """`scale`: counts are shown divided by it (bytes with unit "MB", scale 1e6: `1.2/3.7 MB`)."""
        self.label, self.total, self.unit, self.every, self.scale = label, total, unit, every, scale
        self.done = 0
        self.start = self._last = time.monotonic()
        self.stream = stream or sys.stderr

    def add(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.print()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        shown = self._num
        speed = f"{rate:.1f}/s" if self.scale == 1.0 else f"{rate / self.scale:.1f} {self.unit}/s"
        if self.total:
            left = max(self.total - self.done, 0)
            eta = f", ETA {left / rate:.0f} s" if rate > 0 else ""
            return f"{self.label}: {shown(self.done)}/{shown(self.total)} {self.unit} ({speed}{eta})"
        return f"{self.label}: {shown(self.done)} {self.unit} ({speed})"

    def _num(self, n: float) -> str:
        return str(n) if self.scale == 1.0 else f"{n / self.scale:.1f}"

    def print(self) -> None:
        print(self.line(), file=self.stream, flush=True)
