"""How much a camera reader running beside the model slows the model itself on this machine.

    python3 bench/bench_contention.py [--repeat 3]

Two single-threaded model calls (the worker's default on 2 cores) run YOLOX-Nano over 320 vtest
frames (batches of 8, rectangular 416x320 input), alone and then with a third thread doing what a
camera reader does (decode vtest.avi with OpenCV and letterbox each frame, paced like the pipeline).
Reports the model threads' own CPU milliseconds per frame (thread CPU time, so the reader's CPU is
not counted) and the frames per second. If the model's CPU per frame rises with the reader running,
the difference is contention for the cores' caches and memory, not work the pipeline adds.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))

from streetwarden.models import OnnxDetector  # noqa: E402

VIDEO = str(SHARED / "media" / "vtest.avi")


def measure(det: OnnxDetector, batches: list[np.ndarray], with_reader: bool) -> tuple[float, float]:
    """(model CPU ms per frame, frames per second) of two concurrent single-threaded callers."""
    stop = threading.Event()
    cpu: dict[int, float] = {}
    name = det.session.get_inputs()[0].name

    def reader() -> None:
        while not stop.is_set():
            cap = cv2.VideoCapture(VIDEO)
            while not stop.is_set():
                ok, frame = cap.read()
                if not ok:
                    break
                det.prepare(frame)
                time.sleep(0.004)  # the pipeline's reader waits for queue room about this long
            cap.release()

    def run(part: list[np.ndarray], key: int) -> None:
        start = time.thread_time()
        for batch in part:
            det.session.run(None, {name: batch})
        cpu[key] = time.thread_time() - start

    side = threading.Thread(target=reader, daemon=True)
    if with_reader:
        side.start()
    callers = [threading.Thread(target=run, args=(batches[i::2], i)) for i in range(2)]
    t0 = time.perf_counter()
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    if with_reader:
        side.join(5)
    frames = sum(len(b) for b in batches)
    return sum(cpu.values()) / frames * 1000, frames / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    det = OnnxDetector(SHARED / "models" / "yolox_nano_coco_416.onnx", threads=1)
    cap = cv2.VideoCapture(VIDEO)
    frames = [cap.read()[1] for _ in range(160)]
    pixels = [det.prepare(f)[0] for f in frames]
    batches = [np.stack(pixels[i:i + 8]) for i in range(0, len(pixels), 8)] * 2
    for i in range(args.repeat):
        alone = measure(det, batches, False)
        beside = measure(det, batches, True)
        print(f"run {i + 1}: model alone {alone[0]:.2f} CPU ms/frame ({alone[1]:.1f} frames/s); with a reader "
              f"beside it {beside[0]:.2f} CPU ms/frame ({beside[1]:.1f} frames/s); model CPU +"
              f"{(beside[0] / alone[0] - 1) * 100:.0f} %", flush=True)


if __name__ == "__main__":
    main()
