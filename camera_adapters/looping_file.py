"""A recorded file played as if it were a live camera (``loop:///abs/path/clip.mp4``).

Why: tests and demos of live behaviour (leases handed between workers, reconnects, lag) need
many cameras that run for as long as wanted without an RTSP server. The clip is played at its
own pace against the wall clock and starts again at its end; frames carry Unix timestamps and
count as live, so the pipeline treats it exactly like a camera stream.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2

from streetwarden.camera_adapters.base import FrameSource, SourceError
from streetwarden.camera_adapters.frame import Frame

SCHEME = "loop"


def loop_path(url: str) -> Path:
    """The file of a ``loop:///path`` URL (absolute path; the host part must be empty)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME or parts.netloc or not parts.path.startswith("/"):
        raise SourceError(f"loop source '{url}': write loop:///absolute/path/to/clip (three slashes, absolute path)")
    return Path(unquote(parts.path))


class LoopingFileSource(FrameSource):
    """Yields the clip's frame that is 'on air' now, at the analysis rate, forever (until closed)."""

    live = True

    def __init__(self, camera_id: str, url: str, analysis_fps: float) -> None:
        super().__init__(camera_id, analysis_fps)
        self.path = loop_path(url)
        if not self.path.exists():
            raise SourceError(f"loop source: video file not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"loop source: cannot open video {self.path}: not a format FFmpeg can read")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.native_fps = fps if fps and fps > 0 else 25.0
        self._index = 0  # next frame the capture would decode
        self._closed = threading.Event()
        self.epochs: deque[float] = deque(maxlen=8)  # when each play of the clip started (Unix time)

    def _rewind(self) -> None:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._index = 0

    def _frame_at(self, position: int):  # type: ignore[no-untyped-def]
        """Decode up to the frame at `position` (grabbing, not converting, the ones skipped)."""
        if position < self._index:
            self._rewind()
        while self._index < position:
            if not self._cap.grab():
                return None
            self._index += 1
            self.health.frames_in += 1
        ok, image = self._cap.read()
        if not ok:
            return None
        self._index += 1
        self.health.frames_in += 1
        return image

    def frames(self) -> Iterator[Frame]:
        step = 1.0 / self.analysis_fps
        self.health.set("online")
        try:
            yield from self._play(step)
        finally:  # released by the reading thread itself: a capture is not safe to free under a reader
            self._cap.release()

    def _play(self, step: float) -> Iterator[Frame]:
        epoch = time.time()  # the clip's start on the wall clock; moved on at each loop
        self.epochs.append(epoch)
        index = 0
        while not self._closed.is_set():
            now = time.time()
            image = self._frame_at(int((now - epoch) * self.native_fps))
            if image is None:  # past the end: the clip starts again now
                self._rewind()
                epoch = now
                self.epochs.append(epoch)
                image = self._frame_at(0)
                if image is None:
                    raise SourceError(f"loop source: no decodable frame in {self.path}")
            if self.wants_frame():
                self.health.frames_analysed += 1
                self.health.last_frame_at = now
                yield Frame(self.camera_id, now, image, index, live=True)
                index += 1
            else:
                self.health.frames_dropped += 1
            self._closed.wait(max(0.0, step - (time.time() - now)))

    def clip_cutter(self):  # type: ignore[no-untyped-def]
        return LoopCutter(self)

    def close(self) -> None:
        """Ends frames() at its next frame; never blocks (called from other threads)."""
        self._closed.set()

    def describe(self) -> str:
        return f"{SCHEME}://{self.path}"


class LoopCutter:
    """Clips of a looping file: the Unix times are mapped to the play of the file that showed them."""

    def __init__(self, source: LoopingFileSource) -> None:
        self.source = source

    def cut(self, start: float, end: float, out: Path):  # type: ignore[no-untyped-def]
        from streetwarden.camera_adapters.clips import FileCutter

        centre = (start + end) / 2
        epochs = [e for e in list(self.source.epochs) if e <= centre]
        if not epochs:
            raise SourceError("loop source: that time is before the clip started playing")
        return FileCutter(self.source.path, offset=max(epochs)).cut(start, end, out)
