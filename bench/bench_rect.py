"""Rectangular vs square model input: same detections, less model time.

    python3 bench/bench_rect.py [--step 10]

Runs YOLOX-Nano twice over frames of vtest.avi (768x576, 4:3) and the same frames scaled to
1280x720 (16:9): once with the model's square 416x416 input (`rect: false`) and once with the
rectangular input (416x320 / 416x256). Reports how many detections (score >= 0.4) of each are found
by the other (same class, IoU >= 0.8) and the CPU milliseconds per frame (one thread, batch 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared"))

from streetwarden.models import OnnxDetector  # noqa: E402
from streetwarden.models.detections import box_iou  # noqa: E402


def matched(a, b, min_score: float = 0.4) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(detections of `a` scoring >= min_score, how many `b` also has: same class, IoU >= 0.8)."""
    keep = a.score >= min_score
    if not keep.any():
        return 0, 0
    if len(b.xyxy) == 0:
        return int(keep.sum()), 0
    iou = box_iou(a.xyxy[keep], b.xyxy)
    same = (a.class_id[keep][:, None] == b.class_id[None, :]) & (iou >= 0.8)
    return int(keep.sum()), int(same.any(axis=1).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--step", type=int, default=10, help="use every n-th frame of vtest.avi")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    path = SHARED / "models" / "yolox_nano_coco_416.onnx"
    square, rect = OnnxDetector(path, threads=1, rect=False), OnnxDetector(path, threads=1)
    cap = cv2.VideoCapture(str(SHARED / "media" / "vtest.avi"))
    frames, i = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % args.step == 0:
            frames.append(frame)
        i += 1
    sets = {"768x576 (4:3)": frames, "1280x720 (16:9)": [cv2.resize(f, (1280, 720)) for f in frames]}
    for name, images in sets.items():
        shape = rect.prepare(images[0])[0].shape
        totals = np.zeros(4, int)
        cpu = {"square": 0.0, "rect": 0.0}
        for img in images:
            t = time.process_time()
            s = square.detect(img)
            cpu["square"] += time.process_time() - t
            t = time.process_time()
            r = rect.detect(img)
            cpu["rect"] += time.process_time() - t
            totals += np.array(matched(s, r) + matched(r, s))
        n = len(images)
        print(f"{name}: {n} frames, rect input {shape[1]}x{shape[0]}; square's detections found by rect "
              f"{totals[1]}/{totals[0]}, rect's found by square {totals[3]}/{totals[2]}; CPU ms/frame square "
              f"{cpu['square'] / n * 1000:.1f}, rect {cpu['rect'] / n * 1000:.1f} "
              f"(ratio {cpu['rect'] / cpu['square']:.2f})", flush=True)


if __name__ == "__main__":
    main()
