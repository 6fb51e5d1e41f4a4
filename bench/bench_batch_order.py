"""Batch order and evidence priority, A/B in one process, interleaved (the host drifts between runs).

    python3 bench/bench_batch_order.py --streams 58 --order ABBA

A ("before"): live frames taken by camera order from after the camera served last
(``round_robin``), evidence threads at the analysis priority. B (the worker as shipped): earliest
capture first (``oldest_first``), evidence threads 10 steps nicer. Each run is
``bench_rtsp.run_once`` (keyframe-only, 0.5 fps, one-thread model calls); prints one JSON line per run.
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
import streetwarden.pipeline.thread_priority as priority  # noqa: E402
import streetwarden.pipeline.worker as worker  # noqa: E402

os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))
SHIPPED = worker.oldest_first


class CameraOrder:
    """The order before: by camera number, starting after the camera served last."""

    def __init__(self) -> None:
        self.last = -1

    def __call__(self, ready: list, max_batch: int) -> list:
        ready = sorted(ready, key=lambda r: (int(r.cam.id[3:]) <= self.last, int(r.cam.id[3:])))
        batch, last = worker.round_robin(ready, max_batch)
        if batch:
            self.last = int(ready[last].cam.id[3:])
        return batch


def variant(shipped: bool) -> None:
    worker.oldest_first = SHIPPED if shipped else CameraOrder()
    priority.lower_this_thread.__defaults__ = (priority.EVIDENCE_NICE if shipped else 0,)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=56)
    ap.add_argument("--order", default="ABBA", help="runs in this order, A = before, B = as shipped")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--workdir", default=None, help="keeps the encoded clip between runs")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-order-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(workdir, None, loops=3)
    for k, m in enumerate(args.order.upper()):
        print(f"run {k + 1}/{len(args.order)}: {m}, {args.streams} streams, ETA ≤ "
              f"{(len(args.order) - k) * (args.warmup + args.window + 15):.0f} s", file=sys.stderr, flush=True)
        variant(m == "B")
        r = run_once(clip, args.streams, "keyframe", 0.5, args.warmup, args.window, workdir, threads=1)
        print(json.dumps({"variant": "shipped" if m == "B" else "before",
                          **{x: r[x] for x in ("streams", "lag_p50", "lag_p95", "lag_max", "worker_cpu_ms_per_stream_s",
                                               "server_cpu_ms_per_stream_s", "analysed_fps_per_cam_mean",
                                               "analysed_fps_per_cam_min", "holds")}}), flush=True)
    variant(True)


if __name__ == "__main__":
    main()
