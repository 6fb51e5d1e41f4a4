"""Mainland China licence plates: which OCR text is a plate, and reading one from a vehicle crop.

A plate is a province character, the issuing-authority letter and 5 characters (blue / yellow
plates, optionally ending in 挂 学 警 港 澳) or 6 (green new-energy plates: D or F then a letter or
digit and 4 digits, or 5 digits then D or F). The letters I and O are never issued, so OCR's O and I
after the province are read as 0 and 1. Text that fits no pattern is never stored.

A wrong plate on a notice is worse than none, so a reading must also belong to the vehicle: its
text box lies inside the vehicle's box, in the lower part, near the centre line, of a plausible
size for that vehicle (a second car's plate in the crop fails this). When two plates still compete,
or a character is doubtful (the province character's own OCR confidence, else the line's, below
`province_confidence`; another character's below `char_confidence`), the reading is marked
`uncertain` for the reviewer and never printed on a notice.
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
    uncertain: str | None = None  # why a reviewer must check it: province, character or competing:<other plate>


@dataclass(frozen=True)
class PlateFit:
    """Where a vehicle's own plate can be, as fractions of the vehicle box."""

    min_top: float = 0.4  # the plate's centre lies below this share of the box height
    max_off_centre: float = 0.35  # |plate centre x - box centre x| at most this share of the box width
    min_width: float = 0.08  # plate width as a share of the box width
    max_width: float = 0.65
    min_aspect: float = 1.5  # a single-row plate is ~3:1; a two-row one ~1.7:1
    slack: float = 0.02  # the text box may stick out of the vehicle box by this share of its size


PROVINCE_CONFIDENCE = 0.8
CHAR_CONFIDENCE = 0.75


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


def belongs_to(quad: np.ndarray, vehicle: np.ndarray | list[float], fit: PlateFit = PlateFit()) -> bool:
    """Is a text box (quad, same pixels as `vehicle`) where this vehicle's own plate can be?"""
    x1, y1, x2, y2 = [float(v) for v in vehicle]
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    qx1, qy1 = float(quad[:, 0].min()), float(quad[:, 1].min())
    qx2, qy2 = float(quad[:, 0].max()), float(quad[:, 1].max())
    sx, sy = fit.slack * w, fit.slack * h
    inside = qx1 >= x1 - sx and qx2 <= x2 + sx and qy1 >= y1 - sy and qy2 <= y2 + sy
    cx, cy, qw, qh = (qx1 + qx2) / 2, (qy1 + qy2) / 2, qx2 - qx1, max(qy2 - qy1, 1.0)
    return (inside and cy >= y1 + fit.min_top * h and abs(cx - (x1 + x2) / 2) <= fit.max_off_centre * w
            and fit.min_width * w <= qw <= fit.max_width * w and qw / qh >= fit.min_aspect)


def _doubt(lines: tuple[TextLine, ...], text: str, province: float, char: float) -> str | None:
    """'province' or 'character' when the OCR's own per-character confidence says so (the line's
    confidence stands in for the province character when the OCR gives none per character)."""
    chars = [(c, p) for ln in lines for c, p in ln.chars if not _SEPARATORS.match(c)]
    first = next((p for c, p in chars if c == text[0]), lines[0].confidence)
    if first < province:
        return "province"
    if any(p < char for _, p in chars[1:]):
        return "character"
    return None


def best_plate(lines: list[TextLine], min_confidence: float = 0.5, vehicle: np.ndarray | list[float] | None = None,
               province_confidence: float = PROVINCE_CONFIDENCE, char_confidence: float = CHAR_CONFIDENCE) -> PlateReading | None:
    """This vehicle's plate among the lines, also trying two neighbouring pieces joined (OCR often
    splits '鄂A' from '50956' at the separator dot); `vehicle` is its box in the lines' pixels."""
    options: list[tuple[tuple[TextLine, ...], str, float, np.ndarray]] = [((ln,), ln.text, ln.confidence, ln.quad) for ln in lines]
    for a, b in zip(lines, lines[1:]):
        options.append(((a, b), a.text + b.text, min(a.confidence, b.confidence), np.concatenate([a.quad, b.quad])))
    found: list[tuple[PlateReading, np.ndarray]] = []
    for parts, raw, conf, quad in options:
        text = normalise(raw)
        kind = plate_kind(text)
        if not kind or conf < min_confidence or (vehicle is not None and not belongs_to(quad, vehicle)):
            continue
        doubt = _doubt(parts, text, province_confidence, char_confidence)
        found.append((PlateReading(text, round(conf, 4), kind, doubt), quad))
    if not found:
        return None
    found.sort(key=lambda f: f[0].confidence, reverse=True)
    best, best_quad = found[0]
    rivals = [r for r, q in found[1:] if r.text != best.text and not _overlap(q, best_quad)]
    if rivals:  # two plates where one vehicle has one: a reviewer decides, no guess
        return PlateReading(best.text, best.confidence, best.kind, f"competing:{rivals[0].text}")
    return best


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Two text boxes on the same spot (one plate read twice, as a line and as joined pieces)."""
    ax1, ay1, ax2, ay2 = a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()
    bx1, by1, bx2, by2 = b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max()
    return bool(min(ax2, bx2) > max(ax1, bx1) and min(ay2, by2) > max(ay1, by1))


def vehicle_crop(image: np.ndarray, box: np.ndarray | list[float], margin: float = 0.08) -> np.ndarray:
    """The vehicle's box with a small margin, clipped to the frame."""
    return crop_with_origin(image, box, margin)[0]


def crop_with_origin(image: np.ndarray, box: np.ndarray | list[float], margin: float = 0.08) -> tuple[np.ndarray, tuple[int, int]]:
    """vehicle_crop and the crop's top-left corner in the frame (to map the box into the crop)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box]
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    xa, ya = int(max(0, x1 - mx)), int(max(0, y1 - my))
    xb, yb = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return image[ya:max(yb, ya + 1), xa:max(xb, xa + 1)], (xa, ya)


def read_plate(ocr: PlateOCR, image: np.ndarray, box: np.ndarray | list[float] | None = None,
               min_confidence: float = 0.5) -> PlateReading | None:
    """Read the plate of the vehicle in `box` (or the whole image); None when no valid plate is seen."""
    if box is None:
        crop, vehicle = image, None
    else:
        crop, (ox, oy) = crop_with_origin(image, box)
        vehicle = [float(box[0]) - ox, float(box[1]) - oy, float(box[2]) - ox, float(box[3]) - oy]
    if crop.shape[0] < 16 or crop.shape[1] < 16:
        return None
    return best_plate(ocr.read(crop), min_confidence, vehicle)
