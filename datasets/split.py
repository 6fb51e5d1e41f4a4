"""Train/val split by camera and by time, never by random frame.

The unit is a camera-period: one camera during one ``period_hours`` window (UTC, counted from the
epoch). Every image of a unit lands on the same side, so near-identical frames of one scene never
sit in both train and val. Per camera the most recent ``val_fraction`` of its periods are held back
for val (a model is judged on what comes after what it learnt from); a camera with a single period
goes whole to one side, chosen by a hash of its id so the answer is the same on every export.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict


def period_of(ts: float, period_hours: float) -> int:
    """Index of the period that contains ``ts``."""
    return int(math.floor(ts / (period_hours * 3600.0)))


def unit_name(camera: str, period: int) -> str:
    return f"{camera}@{period}"


def assign(units: set[tuple[str, int]], val_fraction: float) -> dict[tuple[str, int], str]:
    """``{(camera, period): "train" | "val"}`` for every unit."""
    by_camera: dict[str, list[int]] = defaultdict(list)
    for camera, period in units:
        by_camera[camera].append(period)
    out: dict[tuple[str, int], str] = {}
    for camera, periods in sorted(by_camera.items()):
        periods.sort()
        if len(periods) == 1:
            draw = int(hashlib.sha256(camera.encode()).hexdigest()[:8], 16) / 2**32
            out[(camera, periods[0])] = "val" if draw < val_fraction else "train"
            continue
        n_val = min(len(periods) - 1, max(1, round(len(periods) * val_fraction))) if val_fraction > 0 else 0
        for i, period in enumerate(periods):
            out[(camera, period)] = "val" if i >= len(periods) - n_val else "train"
    return out
