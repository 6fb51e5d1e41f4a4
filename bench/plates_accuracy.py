"""Plate reading accuracy on real photos with known plates: exact / uncertain / none / wrong.

`bench/plates_truth.json` lists photos (paths under $STREETWARDEN_SHARED or absolute), the vehicle box
YOLOX-Nano found and the plate read by eye: `?` for a character too small to read by eye, "" where
no mainland plate is there (any stored text is wrong). A reading that matches every legible
character of a plate with a `?` is `unverifiable`. A reading marked uncertain is never printed on a
notice, so it counts apart from the confident ones.

    python3 bench/plates_accuracy.py [--truth bench/plates_truth.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from streetwarden.detectors.plates import read_plate  # noqa: E402
from streetwarden.models.plate_ocr import PlateOCR  # noqa: E402

SHARED = Path(os.environ.get("STREETWARDEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def outcome(expected: str, text: str | None, uncertain: str | None) -> str:
    if text is None:
        return "none"
    agrees = len(text) == len(expected) and all(e in ("?", t) for e, t in zip(expected, text))
    verdict = ("unverifiable" if "?" in expected else "exact") if agrees else "wrong"
    return f"uncertain, {verdict}" if uncertain else verdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", default=str(Path(__file__).with_name("plates_truth.json")))
    args = ap.parse_args()
    ocr = PlateOCR()
    counts: Counter[str] = Counter()
    for item in json.loads(Path(args.truth).read_text(encoding="utf-8")):
        path = Path(item["photo"]) if item["photo"].startswith("/") else SHARED / item["photo"]
        reading = read_plate(ocr, cv2.imread(str(path)), item["box"])
        got = outcome(item["plate"], reading.text if reading else None, reading.uncertain if reading else None)
        counts[got] += 1
        print(f"{path.name[:24]:24} expected {item['plate'] or '-':10} read {reading.text if reading else '-':10} "
              f"{(reading.uncertain or '') if reading else '':24} {got}")
    total = sum(counts.values())
    print(f"{total} vehicles: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
