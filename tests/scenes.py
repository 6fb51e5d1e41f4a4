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
