"""Polygon zones in fractions of the frame, tested at an object's bottom-centre anchor."""

from __future__ import annotations

import numpy as np

from streetwarden.config import ZoneConfig


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Vectorised even-odd test of points [N,2] against a polygon [M,2] -> bool [N]."""
    if len(points) == 0:
        return np.zeros(0, bool)
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.logical_and(crosses, x < xint).sum(axis=1) % 2 == 1


class Zone:
    """A configured zone with its polygon cached in pixels for the current frame size."""

    def __init__(self, config: ZoneConfig) -> None:
        self.config = config
        self.id = config.id
        self.kind = config.kind
        self._norm = np.asarray(config.polygon, np.float32)
        self._size: tuple[int, int] | None = None
        self._px = self._norm

    def polygon_px(self, width: int, height: int) -> np.ndarray:
        if self._size != (width, height):
            self._px = self._norm * np.array([width, height], np.float32)
            self._size = (width, height)
        return self._px

    def contains(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        return points_in_polygon(points, self.polygon_px(width, height))

    def mask(self, width: int, height: int) -> np.ndarray:
        import cv2

        m = np.zeros((height, width), np.uint8)
        cv2.fillPoly(m, [self.polygon_px(width, height).round().astype(np.int32)], 255)
        return m

    def bbox_px(self, width: int, height: int) -> np.ndarray:
        p = self.polygon_px(width, height)
        return np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()], np.float32)
