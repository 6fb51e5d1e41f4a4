"""The interface every frame source implements, and the health it reports."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from streetwarden.camera_adapters.frame import Frame


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message is safe to log (no passwords)."""


@dataclass
class SourceHealth:
    """What a camera's operator needs to see: state, why, and how well frames flow."""

    state: str = "starting"  # starting | online | reconnecting | offline | error | ended
    reason: str | None = None
    last_frame_at: float | None = None
    frames_in: int = 0
    frames_analysed: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    since: float = field(default_factory=time.time)
    # filled by the pipeline: frames the model saw, frames dropped to keep up, and how late
    frames_processed: int = 0
    frames_dropped: int = 0
    last_analysed_at: float | None = None
    lag_seconds: float | None = None  # capture → analysed, last live frame

    def set(self, state: str, reason: str | None = None) -> None:
        if state != self.state or reason != self.reason:
            self.state, self.reason, self.since = state, reason, time.time()


class FrameSource(abc.ABC):
    """Yields frames at the camera's analysis rate, skipping (never slowing down) in between."""

    live: bool = False

    def __init__(self, camera_id: str, analysis_fps: float) -> None:
        self.camera_id = camera_id
        self.analysis_fps = analysis_fps
        self.health = SourceHealth()
        # Set by the consumer: False while it is still busy with the last frame, so a live source
        # can skip decoding a frame that would only be dropped (counted in health.frames_dropped).
        self.wants_frame: Callable[[], bool] = lambda: True

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Frames until the source ends (files) or :meth:`close` is called (live)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device or connection."""

    def clip_cutter(self):  # type: ignore[no-untyped-def]
        """What cuts evidence clips of this source (a ``clips.ClipCutter``), or None: no video to cut."""
        return None

    def describe(self) -> str:
        """The source for logs, with any password masked."""
        return self.__class__.__name__
