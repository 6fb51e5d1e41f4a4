"""Recorded footage: a video file read at the camera's analysis rate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import cv2

from streetwarden.camera_adapters.base import FrameSource, SourceError
from streetwarden.camera_adapters.frame import Frame


class VideoFileSource(FrameSource):
    """Decodes a video file and yields every n-th frame; timestamps are seconds from the start.

    Skipped frames are only grabbed (decoded without colour conversion or copying), which is all
    inter-coded video allows. `close` may come from another thread (a worker stopping): it waits for
    the decode in progress, since releasing the capture under a running grab() crashes FFmpeg.
    """

    def __init__(self, camera_id: str, path: str | Path, analysis_fps: float) -> None:
        super().__init__(camera_id, analysis_fps)
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        self._lock = threading.Lock()
        self._closed = False
        if not self._cap.isOpened():
            raise SourceError(f"cannot open video {self.path}: not a video format FFmpeg can read")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.native_fps = fps if fps and fps > 0 else 25.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, first = self._cap.read()
        if not ok:
            raise SourceError(f"cannot read video {self.path}: no decodable frame (file damaged or empty?)")
        self._first = first

    def frames(self) -> Iterator[Frame]:
        step = 1.0 / self.analysis_fps
        next_ts = 0.0
        index = 0
        image = self._first
        self.health.set("online")
        while True:
            ts = index / self.native_fps
            self.health.frames_in += 1
            if ts + 1e-6 >= next_ts:
                self.health.frames_analysed += 1
                self.health.last_frame_at = ts
                yield Frame(self.camera_id, ts, image, index, live=False)
                next_ts += step
                if next_ts <= ts:
                    next_ts = ts + step
            index += 1
            ts = index / self.native_fps
            # grab() the frames we will skip; read() the one we analyse
            while ts + 1e-6 < next_ts:
                if not self._grab():
                    self.health.set("ended")
                    return
                self.health.frames_in += 1
                index += 1
                ts = index / self.native_fps
            ok, image = self._read()
            if not ok:
                self.health.set("ended")
                return

    def _grab(self) -> bool:
        with self._lock:
            return not self._closed and self._cap.grab()

    def _read(self) -> tuple[bool, object]:
        with self._lock:
            return (False, None) if self._closed else self._cap.read()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cap.release()

    def clip_cutter(self):  # type: ignore[no-untyped-def]
        from streetwarden.camera_adapters.clips import FileCutter

        return FileCutter(self.path)  # frame times are seconds into the file

    def describe(self) -> str:
        return str(self.path)
