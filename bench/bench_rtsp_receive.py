"""CPU of receiving RTSP streams alone (no decode): with and without PyAV's read timeout, and read
in bursts (the adapter's ``read_batch_seconds``).

    python3 bench/bench_rtsp_receive.py [--streams 16] [--seconds 20] [--read-batch 0.2]

N threads each read one 720p 25 fps 2 Mbit/s H.264 stream (the bench_rtsp.py clip) from a local
gst-rtsp-server with PyAV's demuxer and drop the packets; reports this process's CPU milliseconds per
stream-second for PyAV's ``timeout=(open, read)`` and for ``timeout=(open, None)`` (what the RTSP
adapter uses: a silent stream is ended by FFmpeg's socket timeout instead). PyAV's read timeout runs
a callback that takes the GIL on each of FFmpeg's I/O polls. The third variant sleeps once caught up
and reads what arrived meanwhile in one go (camera_adapters/live.py: ReadPacer).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_rtsp import make_clip  # noqa: E402
from streetwarden.camera_adapters.live import DEFAULT_READ_BATCH_SECONDS, LiveOptions, ReadPacer, StreamClock  # noqa: E402
from streetwarden.camera_adapters.rtsp import container_options  # noqa: E402
from tests.rtsp_server import RtspServer  # noqa: E402


def receive_cpu(clip: Path, n: int, seconds: float, read_timeout: float | None,
                read_batch: float = 0.0) -> tuple[float, float]:
    """(CPU ms per stream-second, packets per second per stream) of n demux-only readers; with
    `read_batch`, each reads in bursts as the RTSP adapter does (ReadPacer, capture times from the
    adapter's StreamClock)."""
    server = RtspServer({f"/cam{i}": clip for i in range(n)}).start()
    stop = threading.Event()
    counts = [0] * n
    opts = container_options(LiveOptions(timeout=10))

    def read(i: int) -> None:
        with av.open(server.url(f"/cam{i}"), container_options=opts, timeout=(10, read_timeout)) as container:
            stream = container.streams.video[0]
            if read_batch <= 0:
                for _ in container.demux(stream):
                    counts[i] += 1
                    if stop.is_set():
                        return
                return
            tb, clock, pacer = float(stream.time_base), StreamClock(), ReadPacer(read_batch, stop)
            for packet in pacer.packets(container.demux(stream)):
                counts[i] += 1
                if stop.is_set():
                    return
                if packet.pts is not None:
                    now = time.time()
                    pacer.note(now - clock.capture_time(packet.pts * tb, now), now)

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n)]
    try:
        for t in threads:
            t.start()
        time.sleep(6)  # connect and settle
        r0, c0, t0 = resource.getrusage(resource.RUSAGE_SELF), sum(counts), time.monotonic()
        time.sleep(seconds)
        r1, c1, dt = resource.getrusage(resource.RUSAGE_SELF), sum(counts), time.monotonic() - t0
    finally:
        stop.set()
        server.kill()
        for t in threads:
            t.join(15)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return cpu / dt / n * 1000, (c1 - c0) / dt / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--read-batch", type=float, default=DEFAULT_READ_BATCH_SECONDS,
                    help="the third variant's burst interval (the adapter's read_batch_seconds)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-rtsp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(workdir, None, loops=3)
    variants = (("with PyAV read timeout", 10.0, 0.0), ("socket timeout only", None, 0.0),
                (f"socket timeout, read in bursts every {args.read_batch:g} s", None, args.read_batch))
    for label, read_timeout, batch in variants:
        cpu, pps = receive_cpu(clip, args.streams, args.seconds, read_timeout, batch)
        print(f"{args.streams} streams, {label}: {cpu:.2f} CPU ms per stream-second ({pps:.1f} packets/s per stream)",
              flush=True)


if __name__ == "__main__":
    main()
