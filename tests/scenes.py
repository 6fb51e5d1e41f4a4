"""Build test scenes from real footage: decode vtest.avi, paste real object crops, run the engine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from streetwarden.camera_adapters import open_source
from streetwarden.detectors import CameraEngine, CandidateEvent
from streetwarden.config import ZoneConfig
from tests.conftest import shared_path

GARBAGE = "datasets/garbage-cn/images"
# Real objects found by YOLOX in the garbage-cn street photos: (file prefix, box x1,y1,x2,y2)
REAL_OBJECTS = {
    "chair": ("000229_jpg", (250, 277, 402, 581)),
    "suitcase": ("000244_jpg", (202, 319, 292, 537)),
    "umbrella": ("000262_jpg", (7, 164, 127, 233)),
    "bicycle": ("000582_jpg", (549, 271, 639, 377)),  # a white bicycle parked on grass
    "e-scooter": ("000371_jpg", (0, 310, 152, 479)),  # a parked red e-scooter, a `motorcycle` to COCO
}


@lru_cache(maxsize=4)
def vtest_frames(fps: float = 2.0) -> tuple[tuple[float, np.ndarray], ...]:
    source = open_source("vtest", str(shared_path("media", "vtest.avi")), fps)
    try:
        return tuple((f.ts, f.image) for f in source.frames())
    finally:
        source.close()


def real_crop(name: str, height: int | None = None) -> np.ndarray:
    prefix, (x1, y1, x2, y2) = REAL_OBJECTS[name]
    folder = shared_path(GARBAGE)
    path = next(p for p in sorted(Path(folder).iterdir()) if p.name.startswith(prefix))
    crop = cv2.imread(str(path))[y1:y2, x1:x2]
    if height:
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * height / crop.shape[0])), height))
    return crop


def garbage_classes() -> tuple[str, ...]:
    """garbage-cn's class names in class-id order (its data.yaml): garbage, garbage_bin, overflow."""
    import yaml

    return tuple(yaml.safe_load(shared_path("datasets", "garbage-cn", "data.yaml").read_text())["names"])


def garbage_crop(width: int, height: int, name: str = "garbage") -> np.ndarray:
    """The first mid-sized box of class `name` in garbage-cn (sorted by file name), cut from its photo
    by its YOLO label and resized to width x height."""
    root = shared_path("datasets", "garbage-cn")
    wanted = str(garbage_classes().index(name))
    for label_file in sorted((root / "labels").glob("*.txt")):
        for line in label_file.read_text().splitlines():
            cls, x, y, w, h = line.split()[:5]
            x, y, w, h = float(x), float(y), float(w), float(h)
            if cls == wanted and 0.15 < w < 0.35 and 0.15 < h < 0.35 and 0.6 < w / h < 1.7:
                image = cv2.imread(str(root / "images" / (label_file.stem + ".jpg")))
                assert image is not None, f"cannot read the image of {label_file}"
                H, W = image.shape[:2]
                crop = image[int((y - h / 2) * H):int((y + h / 2) * H), int((x - w / 2) * W):int((x + w / 2) * W)]
                return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    raise AssertionError(f"garbage-cn has no mid-sized {name} box")


def person_crop(height: int) -> np.ndarray:
    """A real pedestrian from bus.jpg (the man on the left)."""
    img = cv2.imread(str(shared_path("media", "bus.jpg")))
    crop = img[394:898, 50:214]
    return cv2.resize(crop, (max(1, int(crop.shape[1] * height / crop.shape[0])), height))


def paste(image: np.ndarray, crop: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Copy of image with crop at (x, y) top-left; returns (image, box)."""
    out = image.copy()
    h, w = crop.shape[:2]
    out[y:y + h, x:x + w] = crop
    return out, np.array([x, y, x + w, y + h], np.float32)


def zone(zid: str, kind: str, polygon, dwell: float, **kw) -> ZoneConfig:
    return ZoneConfig(id=zid, kind=kind, polygon=polygon, dwell_seconds=dwell, **kw)


def run_engine(detector, frames, zones: list[ZoneConfig], camera_id: str = "cam") -> list[CandidateEvent]:
    engine = CameraEngine(camera_id, zones, live=False)
    events: list[CandidateEvent] = []
    images = [img for _, img in frames]
    dets = []
    for i in range(0, len(images), 8):
        dets.extend(detector(images[i:i + 8]))
    for (ts, img), d in zip(frames, dets):
        events.extend(engine.process(ts, img, d))
    events.extend(engine.finish())
    return events


def opened(events: list[CandidateEvent], violation: str | None = None) -> list[CandidateEvent]:
    return [e for e in events if e.kind == "open" and (violation is None or e.violation == violation)]


def iou(a, b) -> float:
    from streetwarden.models.detections import box_iou

    return float(box_iou(np.asarray(a, np.float32)[None], np.asarray(b, np.float32)[None])[0, 0])


# -- camera and overlay effects applied to real frames ---------------------------------------------
def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The frame as a camera moved by (dx, dy) source pixels would see it (content moves by +d)."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def drift_offset(ts: float, rate: float = 0.3, jump_at: float = 50.0, jump: float = 12.0) -> tuple[float, float]:
    """Slow drift of ``rate`` px/s (half that vertically) and a sudden ``jump`` px at ``jump_at``."""
    return rate * ts + (jump if ts >= jump_at else 0.0), 0.5 * rate * ts


CLOCK_ORIGIN = (20, 40)
CLOCK_FONT = (cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2)


def clock_text(ts: float) -> str:
    s = int(ts) + 13 * 3600 + 59 * 60 + 20  # the minute and the hour roll over 40 s in
    return f"2026-12-01 {s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}  CAM 03"


def burn_clock(ts: float, image: np.ndarray) -> np.ndarray:
    """A burned-in OSD: date, running time and channel name, white, top left, as DVRs draw it."""
    out = image.copy()
    font, scale, thick = CLOCK_FONT
    cv2.putText(out, clock_text(ts), CLOCK_ORIGIN, font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def clock_seconds_box() -> np.ndarray:
    """Source-pixel box of the clock's seconds digits."""
    font, scale, thick = CLOCK_FONT
    text = clock_text(0.0)
    start = text.index(":", text.index(":") + 1) + 1
    (x0, _), _ = cv2.getTextSize(text[:start], font, scale, thick)
    (x1, h), base = cv2.getTextSize(text[:start + 2], font, scale, thick)
    x, y = CLOCK_ORIGIN
    return np.array([x + x0, y - h, x + x1, y + base], np.float32)
