"""What evidence clips cost a camera reader: the packet ring and one clip's remux.

    python3 bench/bench_clips.py [--rounds 5]

Demuxes the bench_rtsp.py clip (720p 25 fps 2 Mbit/s H.264, GOP 1 s) as the RTSP reader does, once
dropping the packets and once also copying each into a PacketRing (default caps: 20 s, 16 MB);
reports CPU per stream-second of both and their ratio (same run, alternating rounds, so the
machine's load cancels out), the ring's memory when full, and the time to remux one 15 s clip.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_rtsp import make_clip  # noqa: E402
from streetwarden.camera_adapters.clips import RingCutter  # noqa: E402
from streetwarden.camera_adapters.packet_ring import PacketRing, RingPacket, StreamTemplate  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def demux(clip: Path, ring: PacketRing | None) -> tuple[float, float]:
    """(CPU seconds, stream seconds) of reading the whole file, optionally into the ring."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        if ring is not None:
            ring.reset(StreamTemplate(stream))
        c0, last = cpu(), 0.0
        for p in container.demux(stream):
            if p.size == 0 or p.pts is None:
                continue
            last = p.pts * tb
            if ring is not None:
                ring.add(RingPacket(last, bytes(p), p.pts, p.dts, int(p.duration or 0), bool(p.is_keyframe)))
        return cpu() - c0, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.gettempdir()) / "sw-bench-clips"
    work.mkdir(exist_ok=True)
    clip = make_clip(work, seconds=None, loops=1)
    plain = ringed = 0.0
    seconds = 0.0
    ring = PacketRing(20.0, 16_000_000)
    for _ in range(args.rounds):
        c, seconds = demux(clip, None)
        plain += c
        c, _ = demux(clip, ring)
        ringed += c
    total = seconds * args.rounds
    print(f"demux only:      {1000 * plain / total:.2f} ms CPU per stream-second")
    print(f"demux + ring:    {1000 * ringed / total:.2f} ms CPU per stream-second "
          f"(ratio {ringed / plain:.2f})")
    first, last = ring.span()  # type: ignore[misc]
    print(f"ring when full:  {ring.size_bytes / 1e6:.2f} MB for {last - first:.1f} s")
    out = work / "clip.mp4"
    t0, c0 = time.monotonic(), cpu()
    info = RingCutter(ring).cut(last - 15.0, last, out)
    print(f"one clip:        {info.end - info.start:.1f} s, {info.packets} packets, {out.stat().st_size / 1e6:.2f} MB "
          f"remuxed in {1000 * (time.monotonic() - t0):.0f} ms wall, {1000 * (cpu() - c0):.0f} ms CPU")


if __name__ == "__main__":
    main()
