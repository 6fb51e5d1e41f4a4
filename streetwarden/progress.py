"""Progress lines (rate, ETA) for long command-line jobs."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints `label: done/total (rate/s, ETA)` to stderr at most every `every` seconds."""

    def __init__(self, label: str, total: int | None, unit: str = "frames", every: float = 2.0, stream=None) -> None:
        self.label, self.total, self.unit, self.every = label, total, unit, every
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
        if self.total:
            left = max(self.total - self.done, 0)
            eta = f", ETA {left / rate:.0f} s" if rate > 0 else ""
            return f"{self.label}: {self.done}/{self.total} {self.unit} ({rate:.1f}/s{eta})"
        return f"{self.label}: {self.done} {self.unit} ({rate:.1f}/s)"

    def print(self) -> None:
        print(self.line(), file=self.stream, flush=True)
