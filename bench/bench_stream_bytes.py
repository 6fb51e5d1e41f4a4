"""How many key-frame decodes `gating.stream_bytes` saves, and what it misses, on real footage.

    python3 bench/bench_stream_bytes.py                 # every clip, 1 and 0.5 analysed fps
    python3 bench/bench_stream_bytes.py --json out.json

Each clip is replayed the way a keyframe-only RTSP reader sees it (tests/stream_bytes_replay.py):
inter frames only counted, key frames at the analysis rate, the motion gate and the stream-bytes
rule deciding as in the worker. Every key frame is decoded anyway for the judge, which counts as
*missed* each skipped key frame where the pixel test, against the same reference, would have seen a
change in a zone. The decode CPU saved is skips x the mean decode + BGR time of that clip's key
frames (thread CPU, this machine), per stream-second: an estimate from measured parts, not a
measured saving.

Clips (encoded once into --workdir): the test's quiet street (visit, leave, park: VBR), the
person clip re-encoded as a VBR camera and as a bitrate-capped one (no B-frames: the reader always
decodes streams with them), vtest.avi bitrate-capped as the bench cameras send it, and
car-detection.mp4 as it is (baseline H.264, key frame every 4.8 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))

from streetwarden.config import GatingConfig, ZoneConfig  # noqa: E402
from tests.rtsp_server import transcode  # noqa: E402
from tests.stream_bytes_replay import replay, visit_then_park  # noqa: E402
from tests.test_motion_gate import PARKING_ZONE  # noqa: E402

VAN = [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]  # bench_rtsp.py's zone on vtest.avi


def clips(workdir: Path) -> list[tuple[str, Path, list[ZoneConfig]]]:
    def zone(polygon: list) -> list[ZoneConfig]:
        return [ZoneConfig(id="z", kind="sidewalk", polygon=polygon)]

    def once(name: str, make) -> Path:  # type: ignore[no-untyped-def]
        path = workdir / name
        if not path.exists():
            t = time.monotonic()
            make(path)
            print(f"encoded {name} in {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
        return path

    person = SHARED / "media" / "one-by-one-person-detection.mp4"
    vtest = SHARED / "media" / "vtest.avi"
    street = workdir / "visit-then-park.mp4"
    if not street.exists():
        visit_then_park(workdir)
    return [
        ("quiet street, VBR (crf 28), kerb zone", street, zone(PARKING_ZONE)),
        ("person clip, VBR (crf 23), whole view", once("person-vbr.mp4", lambda p: transcode(person, p, gop=10, crf=23)), []),
        ("person clip, capped 400 kbit/s, whole view",
         once("person-capped.mp4", lambda p: transcode(person, p, gop=10, bitrate="400k")), []),
        ("vtest, capped 1 Mbit/s + noise, van zone",
         once("vtest-capped.mp4", lambda p: transcode(vtest, p, width=768, height=576, gop=10, bitrate="1M", noise=6)),
         zone(VAN)),
        ("car-detection.mp4 as shipped, whole view", SHARED / "media" / "car-detection.mp4", []),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fps", default="1,0.5", help="analysis rates, comma-separated")
    ap.add_argument("--ratio", type=float, default=GatingConfig().stream_bytes_ratio)
    ap.add_argument("--workdir", default=None, help="keeps the encoded clips between runs")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-stream-bytes-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = GatingConfig(enabled=True, stream_bytes=True, stream_bytes_ratio=args.ratio)
    rows = []
    todo = [(c, float(f)) for c in clips(workdir) for f in args.fps.split(",")]
    started = time.monotonic()
    print("| clip | fps | key frames analysed | decodes skipped | missed | model runs | trusted from (s) | decode + BGR ms | est. decode ms saved per stream-s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, ((name, path, zones), fps) in enumerate(todo, 1):
        r = replay(path, fps, cfg, zones)
        seconds = r.analysed / fps
        saved = r.decode_skips * r.decode_ms / seconds if seconds else 0.0
        row = {"clip": name, "fps": fps, "analysed": r.analysed, "decode_skips": r.decode_skips, "missed": r.missed,
               "model_runs": r.model_runs, "first_trusted": r.first_trusted, "decode_ms": round(r.decode_ms, 2),
               "saved_ms_per_stream_s": round(saved, 2), "still_seen": r.still_seen, "changed_seen": r.changed_seen}
        rows.append(row)
        trusted = f"{r.first_trusted:.1f}" if r.first_trusted is not None else "never"
        print(f"| {name} | {fps:g} | {r.analysed} | {r.decode_skips} | {len(r.missed)} | {r.model_runs} | {trusted} | "
              f"{r.decode_ms:.2f} | {saved:.2f} |", flush=True)
        elapsed = time.monotonic() - started
        print(f"[{n}/{len(todo)}] {elapsed:.0f} s, ETA {elapsed / n * (len(todo) - n):.0f} s", file=sys.stderr, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
