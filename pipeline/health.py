"""Per-camera health as operators see it: state and reason, frame rates over a sliding window,
reconnects, decode errors, analysis lag. Read by the API, the Prometheus metrics and the log."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streetwarden.camera_adapters import SourceHealth
from streetwarden.logs import event
from streetwarden.redact import mask_all

log = logging.getLogger("streetwarden.health")

STATES = ("starting", "online", "reconnecting", "offline", "error", "ended", "disabled")


@dataclass
class CameraHealth:
    """One camera's health record: the live SourceHealth plus rate samples and static facts."""

    camera_id: str
    health: SourceHealth
    name: str | None = None
    source: str = ""  # masked
    live: bool = False
    keyframe_only: bool | None = None
    transport: str | None = None
    samples: deque[tuple[float, int, int]] = field(default_factory=deque)
    logged: tuple | None = None
    view: Callable[[], dict[str, Any] | None] | None = None  # the camera's view (steady / shaking), from its engine
    model_runs: int = 0  # analysed frames the model ran on
    model_skips: int = 0  # analysed frames where nothing moved: the last detections carried forward
    decode_skips: int = 0  # of those, key frames not even decoded (the stream's bytes showed no motion)

    def sample(self, now: float, window: float) -> None:
        self.samples.append((now, self.health.frames_in, self.health.frames_processed))
        while len(self.samples) > 2 and now - self.samples[1][0] >= window:
            self.samples.popleft()

    def rates(self) -> tuple[float, float]:
        """(input fps, analysed fps) over the window."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        (t0, in0, an0), (t1, in1, an1) = self.samples[0], self.samples[-1]
        dt = t1 - t0
        if dt <= 0:
            return 0.0, 0.0
        return max(0, in1 - in0) / dt, max(0, an1 - an0) / dt


class HealthRegistry:
    """All cameras of a worker. ``tick`` (called by the worker about once a second) samples the
    counters and logs one structured line per state change; ``snapshot`` is what the API shows."""

    def __init__(self, window_seconds: float = 10.0) -> None:
        self.window = window_seconds
        self.cameras: dict[str, CameraHealth] = {}
        self._lock = threading.Lock()

    def register(self, record: CameraHealth) -> None:
        with self._lock:
            old = self.cameras.get(record.camera_id)
            if old is not None:
                record.logged = old.logged
            self.cameras[record.camera_id] = record

    def unregister(self, camera_id: str) -> None:
        with self._lock:
            self.cameras.pop(camera_id, None)

    def tick(self, now: float | None = None) -> list[dict[str, Any]]:
        """Sample rates; log and return the cameras whose state or reason changed."""
        mono = time.monotonic() if now is None else now
        changed = []
        with self._lock:
            records = list(self.cameras.values())
            for rec in records:
                rec.sample(mono, self.window)
        for rec in records:
            view = rec.view() if rec.view is not None else None
            key = (rec.health.state, rec.health.reason, view["state"] if view else None)
            if key != rec.logged:
                rec.logged = key
                row = self._row(rec)
                changed.append(row)
                level = logging.INFO if rec.health.state in ("online", "starting", "ended", "disabled") else logging.WARNING
                event(log, "camera_health", level, camera=rec.camera_id, state=row["state"], reason=row["reason"],
                      reconnects=row["reconnects"], decode_errors=row["decode_errors"], source=row["source"],
                      view=view["state"] if view else None)
        return changed

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            now = time.monotonic()
            records = sorted(self.cameras.values(), key=lambda r: r.camera_id)
            for rec in records:
                if not rec.samples or now - rec.samples[-1][0] >= 0.5:
                    rec.sample(now, self.window)
        return [self._row(r) for r in records]

    @staticmethod
    def _row(rec: CameraHealth) -> dict[str, Any]:
        h = rec.health
        fps_in, fps_an = rec.rates()
        return {
            "camera_id": rec.camera_id,
            "name": rec.name,
            "source": mask_all(rec.source),
            "live": rec.live,
            "state": h.state,
            "reason": mask_all(h.reason) if h.reason else None,
            "since": round(h.since, 3),
            "last_frame_at": round(h.last_frame_at, 3) if h.last_frame_at is not None else None,
            "last_analysed_at": round(h.last_analysed_at, 3) if h.last_analysed_at is not None else None,
            "input_fps": round(fps_in, 2),
            "analysed_fps": round(fps_an, 2),
            "frames_in": h.frames_in,
            "frames_analysed": h.frames_processed,
            "frames_dropped": h.frames_dropped,
            "reconnects": h.reconnects,
            "decode_errors": h.decode_errors,
            "lag_seconds": round(h.lag_seconds, 3) if h.lag_seconds is not None else None,
            "keyframe_only": rec.keyframe_only,
            "transport": rec.transport,
            "view": rec.view() if rec.view is not None else None,
            "model_runs": rec.model_runs,
            "model_skips": rec.model_skips,
            "decode_skips": rec.decode_skips,
        }


def camera_health_snapshot(worker: Any) -> list[dict[str, Any]]:
    """Health of every camera a worker runs (passwords masked): the body of /api/v1/cameras/health
    and the health part of /api/v1/cameras."""
    return worker.health.snapshot()
