"""Evidence files on disk: JPEGs and MP4 clips written atomically, with their SHA-256 kept in the database."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from streetwarden.detectors.events import EvidenceImage

BOX_COLOUR = (0, 0, 255)
T = TypeVar("T")


def crop_with_margin(image: np.ndarray, box: np.ndarray, margin: float = 0.2, min_side: int = 32) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box]
    mx = max((x2 - x1) * margin, min_side / 2)
    my = max((y2 - y1) * margin, min_side / 2)
    x1, y1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
    x2, y2 = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return image[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]


def render(item: EvidenceImage) -> np.ndarray:
    """The picture as stored: the box drawn on a full frame, or the crop around it."""
    if item.box is not None and item.crop:
        return crop_with_margin(item.image, item.box)
    if item.box is None:
        return item.image
    out = item.image.copy()
    x1, y1, x2, y2 = [int(round(float(v))) for v in item.box]
    thickness = max(2, out.shape[1] // 400)
    cv2.rectangle(out, (x1, y1), (x2, y2), BOX_COLOUR, thickness)
    return out


CLEAN_NOTE = "the frame as the camera gave it, nothing drawn (training data)"


def with_clean(items: list[EvidenceImage]) -> list[EvidenceImage]:
    """``items`` with a `clean` copy (no box drawn) after each full `frame` that gets a box drawn.

    Why: the `frame` picture has the red box burnt into its pixels, which a model trained on it
    would learn; `dataset export` takes the clean one. Events that bring their own `clean` keep it.
    """
    if any(i.kind == "clean" for i in items):
        return list(items)
    out: list[EvidenceImage] = []
    for item in items:
        out.append(item)
        if item.kind == "frame" and item.box is not None and not item.crop:
            out.append(EvidenceImage("clean", item.image, item.ts, None, note=CLEAN_NOTE))
    return out


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Readers see the old file or the new one, never half of one; `durable` also syncs it to disk
    first (evidence: a power cut must not leave an empty file where a court's picture was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def encode_jpeg(image: np.ndarray, quality: int, what: str) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not encode {what}")
    return buf.tobytes()


def save_image(root: Path, relative: str, image: np.ndarray, quality: int = 90) -> tuple[str, str, int, int]:
    """Encode and write a JPEG; returns (relative path, sha256, width, height)."""
    data = encode_jpeg(image, quality, f"evidence image {relative}")
    write_bytes_atomic(root / relative, data)
    return relative, hashlib.sha256(data).hexdigest(), int(image.shape[1]), int(image.shape[0])


def save_preview(root: Path, relative: str, image: np.ndarray, quality: int = 80) -> None:
    """A JPEG that is only a preview (a camera's latest picture for the cameras page), not evidence:
    replaced atomically but not synced (a sync costs more CPU than the write; a lost preview is
    replaced by the next) and not hashed."""
    write_bytes_atomic(root / relative, encode_jpeg(image, quality, f"preview image {relative}"), durable=False)


def save_clip(root: Path, relative: str, write: Callable[[Path], T]) -> tuple[str, str, T]:
    """`write` makes the file (e.g. a remuxed MP4) at a temporary path beside the target; it is then
    synced and renamed into place, so a clip is either whole or absent. Returns (relative path,
    sha256, what `write` returned)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        result = write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest = sha256_file(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return relative, digest, result


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
