"""One camera inside a worker: a reader thread that decodes into a small queue, and its engine."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from camera_adapters import Frame, FrameSource, SourceError, SourceHealth, open_source
from detectors import CameraEngine
from streetwarden.config import CameraConfig, Settings, ZoneConfig
from streetwarden.logs import event
from streetwarden.redact import mask_url

log = logging.getLogger("streetwarden.worker")


class CameraRunner:
    """Owns a camera's source (opened, read and re-opened in its own thread) and its engine.

    File sources block when the queue is full (every analysed frame is processed, results are
    reproducible); live sources drop the oldest frame instead, so analysis never falls behind.
    """

    def __init__(self, settings: Settings, cam: CameraConfig, zones: list[ZoneConfig], wake: threading.Condition,
                 queue_size: int = 4, retry_max: float = 60.0, prepare: Callable[[Any], Any] | None = None) -> None:
        self.cam = cam
        self.prepare = prepare  # model pre-processing, done here so it overlaps the model call
        self.source_url = settings.camera_source(cam)
        self.live = "://" in self.source_url
        self.engine = CameraEngine(cam.id, zones, live=self.live, tracker=settings.tracker, dedupe=settings.dedupe)
        self.health = SourceHealth()
        self.zones_version = 0
        self.queue: deque[Frame] = deque()
        self.queue_size = queue_size
        self.retry_max = retry_max
        self.ended = False
        self.source: FrameSource | None = None
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cam-{cam.id}", daemon=True)

    def open(self) -> FrameSource:
        source = open_source(self.cam.id, self.source_url, self.cam.analysis_fps)
        source.health = self.health
        self.source = source
        return source

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.source is not None:
            self.source.close()
        with self._wake:
            self._wake.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _put(self, frame: Frame) -> None:
        with self._wake:
            if self.live:
                while len(self.queue) >= self.queue_size:
                    self.queue.popleft()  # drop the oldest: never fall behind a live camera
            else:
                while len(self.queue) >= self.queue_size and not self._stop.is_set():
                    self._wake.wait(0.5)
            self.queue.append(frame)
            self._wake.notify_all()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                source = self.source or self.open()
                for frame in source.frames():
                    if self._stop.is_set():
                        break
                    attempt = 0
                    if self.prepare is not None:
                        frame.prepared = self.prepare(frame.image)
                    self._put(frame)
                if not self.live:
                    break
                raise SourceError("stream ended")
            except Exception as err:  # a dead camera never takes the worker down
                reason = mask_url(str(err))
                self.health.set("error" if attempt == 0 else "reconnecting", reason)
                event(log, "camera_error", logging.WARNING, camera=self.cam.id, reason=reason, attempt=attempt)
                if self.source is not None:
                    self.source.close()
                    self.source = None
                if not self.live:
                    break
                attempt += 1
                self.health.reconnects += 1
                delay = min(self.retry_max, 2 ** min(attempt, 8)) * random.uniform(0.5, 1.0)
                self._stop.wait(delay)
        with self._wake:
            self.ended = True
            self._wake.notify_all()
