"""What live adapters share: connection options, reconnect back-off, credentials in URLs, and a
clock that turns stream timestamps into Unix time."""

from __future__ import annotations

import abc
import logging
import math
import random
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from streetwarden.camera_adapters.base import FrameSource
from streetwarden.camera_adapters.frame import Frame
from streetwarden.redact import mask_secrets

log = logging.getLogger("streetwarden.camera")

T = TypeVar("T")
DEFAULT_READ_BATCH_SECONDS = 0.2
CAUGHT_UP_SECONDS = 0.02  # a packet read within this of its capture: the reader has drained what had arrived
SETTLE_SECONDS = 2.0  # a session reads packets as they arrive for this long before it reads in bursts


@dataclass
class LiveOptions:
    """How to talk to a live camera (built by the pipeline from the camera's configuration)."""

    transport: str = "tcp"  # RTSP: tcp (interleaved, survives NAT/firewalls) or udp
    keyframe_only: bool = False  # RTSP: decode only key frames (cheap; rate limited by the GOP)
    fast_decode: bool = False  # RTSP: skip the deblocking filter (~20 % less decode CPU, blockier pictures)
    read_batch: float = DEFAULT_READ_BATCH_SECONDS  # RTSP over TCP: read in bursts this far apart (ReadPacer)
    hw_decode: str = "none"  # RTSP: FFmpeg hardware decoder (cuda, qsv, vaapi, …); none: the CPU
    hw_decode_fallback: bool = False  # RTSP: the CPU when the hardware decoder cannot start
    timeout: float = 10.0  # seconds to connect, and the longest silence tolerated while reading
    reconnect_min: float = 1.0  # first retry delay (seconds); doubles per failure, with jitter
    reconnect_max: float = 30.0  # longest retry delay
    offline_after: float = 60.0  # a dropped stream still failing after this long is 'offline'
    username: str | None = None
    password: str | None = None
    http_auth: str = "auto"  # HTTP snapshots: auto | basic | digest
    secrets: tuple[str, ...] = field(default_factory=tuple)

    def all_secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (*self.secrets, self.password) if s)


class ReadPacer:
    """Reads a TCP stream in bursts: once the reader has caught up with the camera it sleeps
    ``pause`` seconds, and the packets that arrive meanwhile wait in the socket buffer to be read in
    one go. A reader woken for every packet (25 a second per camera) spends much of its CPU waking
    and waiting for the GIL beside a hundred others; 0.2 s cut receiving by about a third and the
    context switches five-fold (docs/cameras.md). Capture times come from the stream's timestamps,
    so they do not move; a key frame waits at most ``pause`` longer. It only pauses when the last
    packet read is within ``caught_up`` seconds of its capture, so a reader that is behind reads on
    and can never fall behind because of it; and not in a session's first ``settle`` seconds, while
    the stream clock learns its offset from packets read as they arrive (read in bursts from the
    start, the first capture times came out up to ``pause`` late, then jumped back)."""

    def __init__(self, pause: float, closed: threading.Event, caught_up: float = CAUGHT_UP_SECONDS,
                 settle: float = SETTLE_SECONDS) -> None:
        self.pause, self.caught_up, self.settle, self._closed = pause, caught_up, settle, closed
        self._settled_at: float | None = None
        self.due = False
        self.pauses = 0

    def note(self, lag: float, now: float) -> None:
        """The packet just read at `now` (any clock in seconds) was captured `lag` seconds ago."""
        if self._settled_at is None:
            self._settled_at = now + self.settle
        self.due = lag < self.caught_up and now >= self._settled_at

    def packets(self, packets: Iterator[T]) -> Iterator[T]:
        """The packets, with a pause before the next read whenever the last one found the reader caught up."""
        for packet in packets:
            yield packet
            if self.due:
                self.due = False
                self.pauses += 1
                if self._closed.wait(self.pause):
                    return


class Backoff:
    """Exponential back-off with full jitter in [d/2, d]: cameras that fail together (a switch
    reboot) do not all retry in the same instant."""

    def __init__(self, minimum: float = 1.0, maximum: float = 30.0, factor: float = 2.0) -> None:
        self.minimum, self.maximum, self.factor = minimum, max(maximum, minimum), factor
        self.failures = 0

    def next_delay(self) -> float:
        base = min(self.maximum, self.minimum * self.factor ** self.failures)
        self.failures += 1
        return base * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without user:password@, user, password), the credentials percent-decoded."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return bare, user, password


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL with user:password@ (percent-encoded, which FFmpeg decodes); credentials already in
    the URL are kept unless replaced."""
    bare, user, pw = split_credentials(url)
    user = username if username is not None else user
    pw = password if password is not None else pw
    if user is None and pw is None:
        return bare
    parts = urlsplit(bare)
    auth = quote(user or "", safe="") + (":" + quote(pw, safe="") if pw is not None else "")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query, parts.fragment))


def safe_message(text: str, secrets: tuple[str, ...] = ()) -> str:
    """An error text fit for logs and the API: URLs' passwords and the literal secrets masked
    (FFmpeg echoes the URL, sometimes percent-decoded)."""
    extra = tuple(s for sec in secrets if sec for s in (sec, quote(sec, safe="")))
    return mask_secrets(text, extra)


class StreamClock:
    """Maps stream timestamps (seconds) to Unix time of capture.

    The offset is the smallest (arrival − pts) seen, so the packet that arrived with the least delay
    defines 'now'; a reader that falls behind then shows as growing lag instead of being hidden.
    The offset may creep up by 1 ms per second to follow a camera clock that runs slow, and is
    re-anchored on a jump of more than ``jump`` seconds (camera restarted its clock).
    """

    def __init__(self, jump: float = 60.0, creep: float = 0.001) -> None:
        self.jump, self.creep = jump, creep
        self.offset: float | None = None
        self._last_wall = 0.0
        self.resyncs = 0

    def capture_time(self, pts: float | None, now: float | None = None) -> float:
        now = time.time() if now is None else now
        if pts is None:
            return now
        raw = now - pts
        if self.offset is None or abs(raw - self.offset) > self.jump:
            if self.offset is not None:
                self.resyncs += 1
            self.offset = raw
        else:
            self.offset = min(self.offset + self.creep * max(0.0, now - self._last_wall), raw)
        self._last_wall = now
        return pts + self.offset


class RateGate:
    """Lets one frame through per 1/fps seconds of capture time (10 % tolerance, so a GOP of
    exactly one interval is not halved by jitter), on a grid of Unix time shifted by ``phase``
    (a fraction of the step). Cameras of one NVR, or all cameras after a worker restart, send their
    key frames in the same instant; each camera's own phase (:func:`phase_of`) spreads their
    analysed frames over the step instead of one burst of decodes and model calls per step."""

    def __init__(self, fps: float, phase: float = 0.0) -> None:
        self.step = 1.0 / fps
        self.offset = (phase % 1.0) * self.step
        self.next_due: float | None = None

    def _slot_from(self, ts: float) -> float:
        """The first grid slot not yet past at `ts` (a frame within the tolerance of it passes)."""
        k = math.ceil((ts - 0.1 * self.step - self.offset) / self.step - 1e-9)
        return k * self.step + self.offset

    def due(self, ts: float) -> bool:
        if self.next_due is None:
            self.next_due = self._slot_from(ts)
        return ts >= self.next_due - 0.1 * self.step

    def taken(self, ts: float) -> None:
        nxt = (self.next_due if self.next_due is not None else self._slot_from(ts)) + self.step
        # behind by more than a step (a gap in the stream): back onto the grid after this frame
        self.next_due = nxt if nxt > ts else self._slot_from(ts + self.step)


def phase_of(camera_id: str) -> float:
    """A camera's analysis phase in [0, 1): fixed by its id, so no worker has to coordinate it."""
    return zlib.crc32(camera_id.encode()) / 2**32


class LiveSource(FrameSource):
    """A camera on the network: :meth:`frames` connects, reads, and on any failure waits (back-off
    with jitter) and connects again, until :meth:`close`. It never raises; what went wrong is in
    ``health`` (state + reason), phrased for an operator and with passwords masked.

    States: ``starting`` → ``online`` while frames flow; after a drop ``reconnecting`` until
    ``offline_after`` seconds pass, then ``offline``; a camera never reached is ``offline``
    (unreachable, silent) or ``error`` (it answered but refused: credentials, path, codec).
    """

    live = True

    def __init__(self, camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> None:
        super().__init__(camera_id, analysis_fps)
        self.options = options or LiveOptions()
        self.url = with_credentials(url, self.options.username, self.options.password)
        _, user, password = split_credentials(self.url)
        self._secrets = tuple(s for s in (*self.options.all_secrets(), password) if s)
        self._closed = threading.Event()
        self._connected = False
        self._outage_since: float | None = None
        self.host = urlsplit(self.url).hostname or "?"
        self.port = urlsplit(self.url).port

    # ---- to implement
    @abc.abstractmethod
    def _session(self) -> Iterator[Frame]:
        """Connect and yield frames until the connection fails (raise) or ends (return)."""

    @abc.abstractmethod
    def _explain(self, err: BaseException, elapsed: float) -> tuple[str, str]:
        """(state, reason) for a failure; the reason is masked by the caller."""

    # ---- shared
    def mask(self, text: str) -> str:
        return safe_message(text, self._secrets)

    def describe(self) -> str:
        return self.mask(self.url)

    def _mark_online(self) -> None:
        if not self._connected:
            self._connected = True
            self._outage_since = None
            self.health.set("online")

    def frames(self) -> Iterator[Frame]:
        backoff = Backoff(self.options.reconnect_min, self.options.reconnect_max)
        while not self._closed.is_set():
            started = time.monotonic()
            self._connected = False
            try:
                yield from self._session()
                state, reason = "reconnecting", "the camera ended the stream"
            except Exception as err:  # any failure: explain it, wait, reconnect
                try:
                    state, reason = self._explain(err, time.monotonic() - started)
                except Exception:  # pragma: no cover - never let an explanation end the loop
                    state, reason = "offline", f"{type(err).__name__}: {err}"
            if self._closed.is_set():
                break
            if self._connected:  # it was working: fresh back-off, and an outage starts now
                backoff.reset()
                self._outage_since = time.time()
                self._connected = False
            if self._outage_since is not None and state != "error":
                state = "reconnecting" if time.time() - self._outage_since < self.options.offline_after else "offline"
            self.health.set(state, self.mask(reason))
            if self._closed.wait(backoff.next_delay()):
                break
            self.health.reconnects += 1

    def close(self) -> None:
        self._closed.set()
