"""Still images: one image file or a folder of them, as a camera that sends a picture per tick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2

from streetwarden.camera_adapters.base import FrameSource, SourceError
from streetwarden.camera_adapters.frame import Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_image(path: Path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"cannot read image {path}: not an image OpenCV can decode")
    return image


class ImageSource(FrameSource):
    """Images in name order, one every 1/analysis_fps seconds of source time."""

    def __init__(self, camera_id: str, path: str | Path, analysis_fps: float) -> None:
        super().__init__(camera_id, analysis_fps)
        self.path = Path(path)
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {self.path}")
        elif self.path.exists():
            self.files = [self.path]
        else:
            raise SourceError(f"image source not found: {self.path}")

    def frames(self) -> Iterator[Frame]:
        self.health.set("online")
        for index, path in enumerate(self.files):
            try:
                image = read_image(path)
            except SourceError as err:
                self.health.decode_errors += 1
                self.health.reason = str(err)
                continue
            self.health.frames_in += 1
            self.health.frames_analysed += 1
            ts = index / self.analysis_fps
            self.health.last_frame_at = ts
            yield Frame(self.camera_id, ts, image, index, live=False)
        self.health.set("ended")

    def describe(self) -> str:
        return str(self.path)
