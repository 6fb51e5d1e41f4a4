"""P-frame sizes as motion evidence before anything is decoded (keyframe-only RTSP cameras).

Why: in keyframe-only mode every analysed frame still costs an I-frame decode, the largest step of
a frame, even when the motion gate then skips the model. A variable-bitrate encoder spends bytes on
what changed, so the inter frames received between two analysed key frames tell, for free, whether
anything moved in the whole view. But that evidence is only as good as the camera's encoder: a
rate-controlled (CBR) stream spends the same bytes whether or not anything moved, and some real
files spend *more* bytes on still seconds (measured in docs/cameras.md). So nothing is assumed:
each camera learns from its own decoded frames, labelled by the pixel test of
:class:`~streetwarden.pipeline.motion_gate.MotionGate`, and the bytes are trusted only while every
recent interval that carried a change in a zone had more bytes than ``ratio`` times the camera's
quiet level (its stillest recent interval). An interval below the threshold then skips
the decode as well as the model; the camera's last picture and detections carry forward, and the
gate's full run every ``full_run_seconds`` still decodes. A change the bytes missed shows up at that
full run as a change with few bytes, which withdraws the trust at once.
"""

from __future__ import annotations

import threading
from collections import deque

from streetwarden.config import GatingConfig
from streetwarden.pipeline.motion_gate import MotionGate


class StreamBytesTest:
    """One camera's learned rule; :meth:`decode_needed` is called by its reader thread,
    :meth:`learn` by the worker loop, so the shared lists sit behind a lock."""

    def __init__(self, config: GatingConfig, gate: MotionGate) -> None:
        self.gate = gate
        self.full_run_seconds = config.full_run_seconds
        self.ratio = config.stream_bytes_ratio
        self.learn_min = config.stream_bytes_learn
        self._changed: deque[float] = deque(maxlen=20)  # bytes of intervals after which a zone had changed
        self._still: deque[float] = deque(maxlen=60)  # bytes of intervals after which nothing had
        self._lock = threading.Lock()
        self.skips = 0  # key frames not decoded
        self.changed_seen = self.still_seen = 0  # decoded intervals learned from, of each kind
        self._excess = 0.0  # bytes above the quiet level over the key frames skipped in a row (reader thread)

    def reset(self) -> None:
        """Forget what was learned (the camera's zones changed: a change means something else now)."""
        with self._lock:
            self._changed.clear()
            self._still.clear()

    def threshold(self) -> float | None:
        """Bytes per inter frame below which an interval counts as still: ``ratio`` times the camera's
        quiet level (its stillest recent interval: a still verdict of the pixel test also covers motion
        below the zone share, which must not lift the level); None while its own frames do not show
        that its bytes separate change from stillness."""
        with self._lock:
            if len(self._changed) < self.learn_min or len(self._still) < self.learn_min:
                return None
            quiet = min(self._still)  # the stillest: a still verdict allows small motion below the zone share
            limit = self.ratio * quiet
            if min(self._changed) <= limit:
                return None  # a change came with few bytes: on this camera the bytes miss changes
            return limit

    def decode_needed(self, ts: float, mean_bytes: float | None) -> bool:
        """Whether the key frame at ``ts`` must be decoded (reader thread). Bytes above the camera's
        quiet level add up over the key frames skipped in a row, so a slow change (someone standing
        and shifting, a car creeping in) cannot hide below the limit interval after interval."""
        limit = self.threshold()
        if (mean_bytes is None or limit is None or ts - self.gate.reference_ts >= self.full_run_seconds
                or ts < self.gate.reference_ts):
            self._excess = 0.0
            return True
        quiet = limit / self.ratio
        excess = self._excess + max(0.0, mean_bytes - quiet)
        if mean_bytes >= limit or excess >= limit - quiet:
            self._excess = 0.0
            return True
        self._excess = excess
        self.skips += 1
        return False

    def learn(self, mean_bytes: float | None, changed: bool | None) -> None:
        """A decoded frame's interval bytes and the pixel test's verdict (None: the model ran without a
        test, e.g. the full run or the first frame; such frames teach nothing)."""
        if mean_bytes is None or changed is None:
            return
        with self._lock:
            (self._changed if changed else self._still).append(mean_bytes)
            if changed:
                self.changed_seen += 1
            else:
                self.still_seen += 1
