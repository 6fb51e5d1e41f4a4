"""Mainland China licence plates: which OCR text is a plate, and reading one from a vehicle crop.

A plate is a province character, the issuing-authority letter and 5 characters (blue / yellow
plates, optionally ending in 挂 学 警 港 澳) or 6 (green new-energy plates: D or F then a letter or
digit and 4 digits, or 5 digits then D or F). The letters I and O are never issued, so OCR's O and I
after the province are read as 0 and 1. Text that fits no pattern is never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from streetwarden.models.plate_ocr import PlateOCR, TextLine

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # letters without I and O
REGULAR = re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳]$")
NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_L}](?:[DF][{_L}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$")
_SEPARATORS = re.compile(r"[\s·•.\-_:：。,，'\"|]")


@dataclass(frozen=True)
class PlateReading:
    text: str
    confidence: float
    kind: str  # regular | new_energy


def normalise(text: str) -> str:
    """Drop separators, upper-case, and (after a province character and letter) read O/I as 0/1."""
    t = _SEPARATORS.sub("", text).upper()
    if len(t) > 2 and t[0] in PROVINCES:
        t = t[:2] + t[2:].replace("O", "0").replace("I", "1")
    return t


def plate_kind(text: str) -> str | None:
    """'regular', 'new_energy' or None for a normalised text."""
    if NEW_ENERGY.match(text):
        return "new_energy"
    if REGULAR.match(text):
        return "regular"
    return None


def best_plate(lines: list[TextLine], min_confidence: float = 0.5) -> PlateReading | None:
    """The most confident plate among the lines, also trying two neighbouring pieces joined
    (OCR often splits '鄂A' from '50956' at the separator dot)."""
    options: list[tuple[str, float]] = [(ln.text, ln.confidence) for ln in lines]
    for a, b in zip(lines, lines[1:]):
        options.append((a.text + b.text, min(a.confidence, b.confidence)))
    best: PlateReading | None = None
    for raw, conf in options:
        text = normalise(raw)
        kind = plate_kind(text)
        if kind and conf >= min_confidence and (best is None or conf > best.confidence):
            best = PlateReading(text, round(conf, 4), kind)
    return best


def vehicle_crop(image: np.ndarray, box: np.ndarray | list[float], margin: float = 0.08) -> np.ndarray:
    """The vehicle's box with a small margin, clipped to the frame."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box]
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    xa, ya = int(max(0, x1 - mx)), int(max(0, y1 - my))
    xb, yb = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return image[ya:max(yb, ya + 1), xa:max(xb, xa + 1)]


def read_plate(ocr: PlateOCR, image: np.ndarray, box: np.ndarray | list[float] | None = None,
               min_confidence: float = 0.5) -> PlateReading | None:
    """Read the plate of the vehicle in `box` (or the whole image); None when no valid plate is seen."""
    crop = vehicle_crop(image, box) if box is not None else image
    if crop.shape[0] < 16 or crop.shape[1] < 16:
        return None
    return best_plate(ocr.read(crop), min_confidence)
