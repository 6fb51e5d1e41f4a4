"""Mask proposals for one camera: read its source for a bounded time and find the changing overlay
text (detectors/overlay.py). Shared by `streetwarden masks suggest` and the cameras API; it only
proposes, nothing here stores a mask."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from streetwarden.camera_adapters import open_source
from streetwarden.detectors.overlay import suggest_masks
from streetwarden.pipeline.camera_runner import live_options
from streetwarden.config import CameraConfig, Settings

Polygon = list[tuple[float, float]]
MIN_SECONDS = 40.0  # the flicker test needs six full 5-s windows
MAX_SECONDS = 300.0


@dataclass
class Suggestion:
    masks: list[Polygon]
    seconds: float  # stream time read
    frames: int


def suggest_for_camera(settings: Settings, cam: CameraConfig, seconds: float,
                       detect: Callable[[np.ndarray], object] | None = None) -> Suggestion:
    """The first `seconds` of the camera's stream (a file from its start, a live camera from now).

    A live stream that stalls is closed `cam.timeout_seconds` after the read should have ended,
    so a caller never waits much longer than `seconds`."""
    url = settings.camera_source(cam)
    options = None
    if "://" in url:
        options = live_options(cam, url)
        options.password = cam.password()
    source = open_source(cam.id, url, max(cam.analysis_fps, 1.0), options)
    guard = threading.Timer(seconds + cam.timeout_seconds + 5.0, source.close)
    guard.daemon = True
    guard.start()
    read = {"frames": 0, "span": 0.0}
    started = time.monotonic()

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        t0 = None
        for f in source.frames():
            t0 = f.ts if t0 is None else t0
            if f.ts - t0 > seconds or time.monotonic() - started > seconds + cam.timeout_seconds:
                return
            read["frames"] += 1
            read["span"] = f.ts - t0
            yield f.ts, f.image

    try:
        masks = suggest_masks(frames(), detect)
    finally:
        guard.cancel()
        source.close()
    return Suggestion(masks=masks, seconds=round(read["span"], 2), frames=read["frames"])
