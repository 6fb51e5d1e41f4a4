"""Plate OCR cost per vehicle crop (PP-OCRv4 via rapidocr-onnxruntime, CPU), on the real car photo of
garbage-cn; it runs once per new best view of a parked vehicle, not per frame.

    python3 bench/plates_ocr.py [--runs 10] [--threads 1] [--det-side 480]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from streetwarden.detectors.plates import read_plate  # noqa: E402
from streetwarden.models.plate_ocr import PlateOCR  # noqa: E402

SHARED = Path(os.environ.get("STREETWARDEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PHOTO = SHARED / "datasets/garbage-cn/images/000756_jpg.rf.091f11e0258aa2fa8e6c4aa089c9f1c0.jpg"
CAR_BOX = [531.4, 13.6, 639.0, 280.0]  # YOLOX-Nano's car box on that photo


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--det-side", type=int, default=480, help="text detector's shorter side (PP-OCR default 736)")
    args = ap.parse_args()
    image = cv2.imread(str(PHOTO))
    t = time.perf_counter()
    ocr = PlateOCR(threads=args.threads, det_side=args.det_side)
    load = time.perf_counter() - t
    reading = read_plate(ocr, image, CAR_BOX)  # warm-up
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        read_plate(ocr, image, CAR_BOX)
        times.append(time.perf_counter() - t)
    print(f"load {load * 1000:.0f} ms; per vehicle crop: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms over {args.runs} runs, threads={args.threads}, det_side={args.det_side}; reading: {reading}")


if __name__ == "__main__":
    main()
