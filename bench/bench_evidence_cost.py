"""What the worker's evidence costs beside the analysis: interleaved runs at N streams, one process.

Variants (`--order`, one letter per run, e.g. BSZCE):
  B  as before 2026-12-02: snapshots every 10 s, synced to disk and hashed like evidence; packet
     ring entries the garbage collector walks; start-up objects not set aside from full passes;
  S  as shipped: snapshots at the `server.snapshot_seconds` default, written as previews (no sync, no hash);
  Z  no snapshots;
  C  shipped snapshots, no clips (no packet ring, no first-sight or raise clips);
  E  neither snapshots nor clips: the analysis alone.
Each run is `bench_rtsp.run_once` (keyframe-only, 0.5 fps, 10 s warm-up + 30 s window); it prints
the worker's CPU per stream-second and lag. Compare variants within one invocation: the host's
speed drifts between minutes more than some of the differences.

    python3 bench/bench_evidence_cost.py --streams 64 --order BSSBBSSB
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_rtsp import SHARED, make_clip, run_once  # noqa: E402
import streetwarden.pipeline.camera_runner as camera_runner  # noqa: E402
import streetwarden.pipeline.worker as worker  # noqa: E402
from streetwarden.camera_adapters.packet_ring import PacketRing  # noqa: E402
from streetwarden.store.evidence import save_image, save_preview  # noqa: E402

os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))
SHIPPED_APPEND, SHIPPED_FREEZE = PacketRing.append, worker.freeze_startup_objects

NO_SNAPSHOTS = {"server": {"snapshot_seconds": 0}}
VARIANTS: dict[str, tuple[str, dict | None]] = {
    "B": ("before: durable 10 s snapshots, tracked ring entries, no freeze", {"server": {"snapshot_seconds": 10}}),
    "S": ("snapshots as shipped", None),
    "Z": ("no snapshots", NO_SNAPSHOTS),
    "C": ("shipped snapshots, no clips", {"clips": {"enabled": False}}),
    "E": ("no snapshots, no clips", {**NO_SNAPSHOTS, "clips": {"enabled": False}}),
}


def _durable_snapshot(root: Path, relative: str, image, quality: int = 80) -> None:  # type: ignore[no-untyped-def]
    save_image(root, relative, image, quality)  # the evidence writer: fsync + SHA-256


def _tracked_append(ring: PacketRing, ts: float, data: bytes, pts: int | None, dts: int | None, duration: int,
                    key: bool) -> None:
    """The ring as before: one object per packet that the collector tracks (a list here, indexed as
    the shipped tuple is; before, a slotted dataclass)."""
    with ring._lock:
        if not ring._packets and not key:
            return
        ring._packets.append([ts, data, pts, dts, duration, key])  # type: ignore[arg-type]
        ring._bytes += len(data)
        ring._trim()


def _before(on: bool) -> None:
    camera_runner.save_preview = _durable_snapshot if on else save_preview
    PacketRing.append = _tracked_append if on else SHIPPED_APPEND  # type: ignore[method-assign]
    worker.freeze_startup_objects = (lambda: 0) if on else SHIPPED_FREEZE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=64)
    ap.add_argument("--order", default="BSSBBSSB")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--workdir", default=None, help="keeps the encoded clip between runs")
    args = ap.parse_args()
    if any(k not in VARIANTS for k in args.order):
        ap.error(f"--order: letters from {''.join(VARIANTS)}, got {args.order!r}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-evidence-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(workdir, None, loops=3)
    for i, k in enumerate(args.order, 1):
        label, extra = VARIANTS[k]
        _before(k == "B")
        print(f"run {i}/{len(args.order)}: {k} ({label}), ETA ≤ {(len(args.order) - i + 1) * (args.warmup + args.window + 15):.0f} s",
              file=sys.stderr, flush=True)
        r = run_once(clip, args.streams, "keyframe", 0.5, args.warmup, args.window, workdir, threads=1, extra=extra)
        print(json.dumps({"variant": k, "label": label, **{x: r[x] for x in (
            "streams", "worker_cpu_ms_per_stream_s", "lag_p50", "lag_p95", "lag_max", "analysed_fps_per_cam_min",
            "loop_thread_cpu_cores", "reader_threads_cpu_cores", "server_cpu_cores")}}), flush=True)


if __name__ == "__main__":
    main()
