"""The least any pipeline can add to the raw model on vtest.avi, next to the raw model, in one run.

    python3 bench/bench_floor.py [--repeat 3]

Why: bench_pipeline.py's target (pipeline >= 0.9 x raw model) needs to know whether the worker's
structure or the work itself is what costs. The "floor" loop does only the unavoidable work, with
none of the worker's machinery: two threads, each pinned to one core, each taking the next frame
from one OpenCV decoder (under a lock), letterboxing it, running the same single-threaded pixel-input
session the worker uses, decoding and NMS-ing the output, and whichever thread holds the tracker
lock feeding finished frames in order through the camera engine (tracker, zones, dwell, rules).
No queues, no futures, no database, no evidence. Raw: the same session, two concurrent calls on
pre-letterboxed frames, batch 1 (the fastest raw configuration, see bench_pipeline.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))
os.environ.setdefault("STREETWARDEN_MODELS", str(SHARED / "models"))

from bench_pipeline import example_settings, raw_fps  # noqa: E402
from streetwarden.camera_adapters import open_source  # noqa: E402
from streetwarden.detectors import CameraEngine  # noqa: E402
from streetwarden.models import OnnxDetector  # noqa: E402

VIDEO = SHARED / "media" / "vtest.avi"


def floor_fps(det: OnnxDetector, settings) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(frames/s, CPU ms/frame) of the minimal loop described above."""
    cam = settings.cameras[0]
    engine = CameraEngine(cam.id, cam.zones, live=False, tracker=settings.tracker, dedupe=settings.dedupe)
    cap = cv2.VideoCapture(str(VIDEO))
    read_lock, engine_lock = threading.Lock(), threading.Lock()
    done: dict[int, tuple[np.ndarray, object]] = {}
    state = {"read": 0, "next": 0}
    cores = sorted(os.sched_getaffinity(0))

    def drain() -> None:
        while state["next"] in done:
            image, dets = done.pop(state["next"])
            engine.process(state["next"] / 10.0, image, dets)  # type: ignore[arg-type]
            state["next"] += 1

    def work(core: int) -> None:
        os.sched_setaffinity(0, {core})
        while True:
            with read_lock:
                ok, image = cap.read()
                if not ok:
                    return
                i = state["read"]
                state["read"] += 1
            done[i] = (image, det.detect_prepared([det.prepare(image)])[0])
            if engine_lock.acquire(blocking=False):
                try:
                    drain()
                finally:
                    engine_lock.release()

    threads = [threading.Thread(target=work, args=(cores[k % len(cores)],)) for k in range(2)]
    t, c = time.perf_counter(), time.process_time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    drain()
    frames = state["read"]
    return frames / (time.perf_counter() - t), (time.process_time() - c) * 1000 / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:  # only the camera, zone and tracker settings are used
        settings = example_settings(tmp, 10)
    det = OnnxDetector(SHARED / "models" / "yolox_nano_coco_416.onnx", threads=1, max_batch=1)
    frames = [f.image for f in open_source("v", str(VIDEO), 10).frames()]
    pixels = [det.prepare(img)[0][None] for img in frames]
    best = {"raw": 0.0, "floor": 0.0}
    ratios = []
    for i in range(args.repeat):
        raw, raw_cpu = raw_fps(det.session, pixels, 2)
        floor, floor_cpu = floor_fps(det, settings)
        best["raw"], best["floor"] = max(best["raw"], raw), max(best["floor"], floor)
        ratios.append(floor / raw)
        print(f"run {i + 1}: raw {raw:.1f} frames/s ({raw_cpu:.1f} CPU ms/frame), floor loop {floor:.1f} frames/s "
              f"({floor_cpu:.1f}); ratio {floor / raw:.2f}", flush=True)
    print(f"best: raw {best['raw']:.1f}, floor loop {best['floor']:.1f} frames/s, ratio {best['floor'] / best['raw']:.2f} "
          f"(per-run median {sorted(ratios)[len(ratios) // 2]:.2f}, range {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
