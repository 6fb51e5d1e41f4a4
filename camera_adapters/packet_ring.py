"""The last seconds of a live stream as compressed packets, so a clip can be cut after the fact.

A candidate is raised after it happened; by then the frames are gone. Keeping decoded pictures
would cost ~1 MB each, so the reader keeps the packets as demuxed (a few hundred KB a second at
most) in a ring capped by seconds AND bytes, always starting at a key frame so any cut of it
decodes. Clips are remuxed from it without re-encoding (see :mod:`clips`).
"""

from __future__ import annotations

import io
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import av


@dataclass(frozen=True, slots=True)
class RingPacket:
    """One demuxed packet: capture time on the source's clock, bytes and stream timestamps."""

    ts: float
    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    key: bool


class StreamTemplate:
    """A stream's codec parameters, kept after its connection closes: they live on a stream of an
    in-memory MP4 output that is never written, which PyAV can use as a template later."""

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        ctx = stream.codec_context
        self.codec = str(ctx.name)
        self.width, self.height = int(ctx.width), int(ctx.height)
        self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        self._holder = av.open(io.BytesIO(), "w", format="mp4")
        try:
            self.stream = self._holder.add_stream_from_template(stream)
        except ValueError:  # e.g. msmpeg4 in an old AVI: MP4 holds H.264 / H.265 / MPEG-4, not everything
            self._holder.close()
            raise ValueError(f"the video codec {self.codec} cannot go into MP4 without re-encoding; "
                             "cameras sending H.264 or H.265 get clips") from None

    def close(self) -> None:
        self._holder.close()


@dataclass(frozen=True)
class PacketWindow:
    """Packets to remux: the first is a key frame."""

    template: StreamTemplate
    packets: list[RingPacket]


# A packet as the ring holds it: (ts, data, pts, dts, duration, key). A plain tuple of numbers and
# bytes, not a RingPacket: the garbage collector stops tracking such tuples, and a worker's rings hold
# ~500 packets per camera, which every full collection would walk again while holding the GIL.
_Held = tuple[float, bytes, int | None, int | None, int, bool]


class PacketRing:
    """Packets of one camera's current connection; written by its reader thread, read by the clip
    writer (a lock guards the deque; a window is a copy, so writing a clip never holds the reader)."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds, self.max_bytes = seconds, max_bytes
        self.template: StreamTemplate | None = None
        self._packets: deque[_Held] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.dropped_for_bytes = 0  # packets let go early because of the byte cap

    def reset(self, template: StreamTemplate | None) -> None:
        """A new connection: its packets have other timestamps (and maybe another codec)."""
        with self._lock:
            # the old template is dropped, not closed: a clip being written may still use it
            self.template = template
            self._packets.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def span(self) -> tuple[float, float] | None:
        with self._lock:
            return (self._packets[0][0], self._packets[-1][0]) if self._packets else None

    def add(self, packet: RingPacket) -> None:
        self.append(packet.ts, packet.data, packet.pts, packet.dts, packet.duration, packet.key)

    def append(self, ts: float, data: bytes, pts: int | None, dts: int | None, duration: int, key: bool) -> None:
        """One demuxed packet (the reader's way in: no RingPacket made per packet)."""
        with self._lock:
            if not self._packets and not key:
                return  # a ring starts at a key frame: anything before it cannot be decoded
            self._packets.append((ts, data, pts, dts, duration, key))
            self._bytes += len(data)
            self._trim()

    def _trim(self) -> None:
        q = self._packets
        newest = q[-1][0]
        while len(q) > 1 and (newest - q[0][0] > self.seconds or self._bytes > self.max_bytes):
            if self._bytes > self.max_bytes and newest - q[0][0] <= self.seconds:
                self.dropped_for_bytes += 1
            self._bytes -= len(q.popleft()[1])
            while q and not q[0][5]:  # drop the rest of that GOP too: it needs the key frame
                self._bytes -= len(q.popleft()[1])

    def window(self, start: float, end: float) -> PacketWindow | None:
        """Packets from the last key frame at or before `start` (else the ring's first) to `end`."""
        with self._lock:
            if self.template is None or not self._packets:
                return None
            held = [p for p in self._packets if p[0] <= end]
            template = self.template
        first = 0
        for i, p in enumerate(held):
            if p[5] and p[0] <= start:
                first = i
        packets = [RingPacket(*p) for p in held[first:]]
        return PacketWindow(template, packets) if packets else None
