"""Model CPU per frame by frames per onnxruntime call, on one thread: why the CPU default of
``frames_per_call`` is one.

    python3 bench/bench_model_batch.py [--sizes 1,2,4,8] [--rounds 3] [--frames 80]

YOLOX-Nano, the worker's graph (pixel input, rectangular 416x256, one intra-op thread), on real 720p
key frames of the bench_rtsp.py clip, letterboxed once beforehand; each round times every size in
turn (interleaved, so a drift of the host's speed hits all sizes alike) in thread CPU per frame,
model + output decode + NMS, and prints each size's ratio to one frame per call in that round.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))

from bench.bench_rtsp import make_clip  # noqa: E402
from streetwarden.models import OnnxDetector  # noqa: E402
from streetwarden.progress import Progress  # noqa: E402


def key_frames(clip: Path, n: int) -> list:
    out = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            if frame.key_frame:
                out.append(frame.to_ndarray(format="bgr24"))
                if len(out) >= n:
                    break
    return out


def per_frame_ms(det: OnnxDetector, prepared: list, frames: int) -> float:
    det.detect_prepared(prepared)  # warm
    calls = max(1, frames // len(prepared))
    t0 = time.thread_time()
    for _ in range(calls):
        det.detect_prepared(prepared)
    return (time.thread_time() - t0) * 1000 / (calls * len(prepared))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,2,4,8")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=80, help="frames timed per size and round")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    sizes = [int(x) for x in args.sizes.split(",")]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sw-bench-batch-"))
    workdir.mkdir(parents=True, exist_ok=True)
    images = key_frames(make_clip(workdir, None, loops=3), max(sizes))
    model = SHARED / "models" / "yolox_nano_coco_416.onnx"
    dets = {b: OnnxDetector(model, threads=1, max_batch=max(sizes), frames_per_call=b) for b in sizes}
    progress = Progress("model by frames per call", args.rounds * len(sizes), unit="runs")
    rounds = []
    for _ in range(args.rounds):
        row = {}
        for b in sizes:
            det = dets[b]
            prepared = [det.prepare(img) for img in images[:max(sizes)]]
            row[b] = round(per_frame_ms(det, prepared, args.frames), 2)
            progress.add()
        rounds.append(row)
        print(json.dumps({"ms_per_frame": row, "ratio_to_one": {b: round(v / row[sizes[0]], 3) for b, v in row.items()}}),
              flush=True)
    progress.print()


if __name__ == "__main__":
    main()
