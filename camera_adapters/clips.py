"""Evidence clips: the seconds around a moment, remuxed into MP4 without re-encoding.

Why no re-encode: it costs a camera's worth of CPU per clip and changes the pictures; copying the
H.264/H.265 packets keeps the footage exactly as the camera sent it. Live RTSP cameras cut from
their packet ring (:mod:`packet_ring`); files and ``loop://`` sources cut from the file itself.
Snapshot cameras (JPEG) have no video: their sources offer no cutter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av

from streetwarden.camera_adapters.base import SourceError
from streetwarden.camera_adapters.packet_ring import PacketRing, PacketWindow, RingPacket, StreamTemplate

NO_VIDEO = "snapshot-only camera (JPEG pictures): no video clip can be kept"
# candidate.attributes["clip"] when a candidate has no clip: {"status": one of these, "reason": text}
CLIP_NONE, CLIP_FAILED = "none", "failed"


@dataclass(frozen=True)
class ClipInfo:
    """What was written: the codec as received, and the span on the source's clock."""

    codec: str
    width: int
    height: int
    start: float
    end: float
    packets: int
    fps: float


class ClipCutter(Protocol):
    """Writes the clip of [start, end] (source clock: Unix for live, seconds for files) to `out`."""

    def cut(self, start: float, end: float, out: Path) -> ClipInfo: ...


def remux(window: PacketWindow, out: Path) -> ClipInfo:
    """The window's packets into an MP4 at `out`, timestamps rebased to 0 at its first packet."""
    packets = window.packets
    tb = window.template.time_base
    base = _first_ts(packets)
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream_from_template(window.template.stream)
        stream.time_base = tb
        last_dts = None
        written = 0
        for p in packets:
            dts = p.dts if p.dts is not None else p.pts
            if dts is None or (last_dts is not None and dts <= last_dts):
                continue  # the muxer needs increasing dts; a packet without any cannot be placed
            last_dts = dts
            pkt = av.Packet(p.data)
            pkt.dts = dts - base
            pkt.pts = (p.pts if p.pts is not None else dts) - base
            pkt.duration = p.duration
            pkt.time_base = tb
            pkt.is_keyframe = p.key
            pkt.stream = stream
            container.mux(pkt)
            written += 1
    if written == 0:
        raise SourceError("no packet with a timestamp in the clip's window")
    t = window.template
    return ClipInfo(t.codec, t.width, t.height, packets[0].ts, packets[-1].ts, written, t.fps)


def _first_ts(packets: list[RingPacket]) -> int:
    values = [v for p in packets for v in (p.dts, p.pts) if v is not None]
    return min(values) if values else 0


class RingCutter:
    """Clips from a live camera's packet ring."""

    def __init__(self, ring: PacketRing) -> None:
        self.ring = ring

    def cut(self, start: float, end: float, out: Path) -> ClipInfo:
        window = self.ring.window(start, end)
        if window is None:
            raise SourceError("no video kept for that time (the camera was not connected)")
        return remux(window, out)


class FileCutter:
    """Clips from a video file; `offset` maps the source clock to seconds into the file."""

    def __init__(self, path: Path, offset: float = 0.0) -> None:
        self.path, self.offset = Path(path), offset

    def cut(self, start: float, end: float, out: Path) -> ClipInfo:
        info = cut_file(self.path, start - self.offset, end - self.offset, out)
        return ClipInfo(info.codec, info.width, info.height, info.start + self.offset, info.end + self.offset,
                        info.packets, info.fps)


def cut_file(path: Path, start: float, end: float, out: Path) -> ClipInfo:
    """[start, end] seconds of a file, from the key frame at or before `start`."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise SourceError(f"{path.name}: no video track")
        stream = container.streams.video[0]
        tb: Fraction = stream.time_base or Fraction(1, 90000)
        zero = stream.start_time or 0
        template = StreamTemplate(stream)
        try:
            container.seek(zero + max(0, int(max(0.0, start) / tb)), stream=stream, backward=True, any_frame=False)
            packets: list[RingPacket] = []
            for p in container.demux(stream):
                if p.size == 0:
                    continue
                t = p.pts if p.pts is not None else p.dts
                if t is None:
                    continue
                ts = float((t - zero) * tb)
                if not packets and not p.is_keyframe:
                    continue
                if ts > end and packets:
                    break
                packets.append(RingPacket(ts, bytes(p), p.pts, p.dts, int(p.duration or 0), bool(p.is_keyframe)))
            if not packets:
                raise SourceError(f"{path.name}: nothing to cut between {start:.1f} and {end:.1f} s")
            return remux(PacketWindow(template, packets), out)
        finally:
            template.close()
