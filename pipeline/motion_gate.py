"""Skip the model when nothing moved: a per-zone change test against the last frame the model saw.

Why: a quiet street at night or a closed market gives the same detections frame after frame, and
the model is most of a frame's CPU. Each analysed frame gets a small grey thumbnail (made in the
camera's reader thread, ≈ 0.3 ms for 720p); the worker loop compares it, in frame order, with the
thumbnail of the last frame that went to the model, after matching the whole view's brightness
(auto-exposure is not motion). Where no zone (grown by ``margin``) has more
than ``zone_share`` of its pixels changed by more than ``pixel_threshold`` grey levels, the frame
skips the model and the camera's engine gets the last detections again, so tracks, dwell timers and
stationary vehicles carry forward exactly as if the model had seen the unchanged picture. A full
run every ``full_run_seconds`` at the latest bounds what a missed change can cost.

The reference is the last *run* frame, not the previous frame, so a slow arrival (a car creeping
in over many frames) adds up until it crosses the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from streetwarden.config import GatingConfig, ZoneConfig


def thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """Grey thumbnail ``width`` pixels wide (two resizes: cheap, and averaging tames sensor noise)."""
    h, w = image.shape[:2]
    tw = max(8, min(width, w))
    th = max(8, round(h * tw / w))
    mid = cv2.resize(image, (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(mid, (tw, th), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small


class MotionGate:
    """One camera's decision, frame by frame, whether the model must run; not thread-safe (the
    worker loop calls :meth:`decide` in frame order)."""

    def __init__(self, config: GatingConfig, zones: Iterable[ZoneConfig] = (),
                 masks: Iterable[Sequence[tuple[float, float]]] = ()) -> None:
        self.config = config
        self._polygons: list[np.ndarray] = []
        # camera masks (an on-screen clock, a screen): their changes never wake the model
        self._exclude = [np.asarray(m, np.float32) for m in masks]
        self._masks: list[np.ndarray] | None = None  # per zone, at thumbnail size (built on first use)
        self._ref: np.ndarray | None = None
        self._ref_ts = -float("inf")
        self._ref_median = 1.0
        self.runs = 0
        self.skips = 0
        self.last_change: bool | None = None
        self.set_zones(zones)

    def set_zones(self, zones: Iterable[ZoneConfig], masks: Iterable[Sequence[tuple[float, float]]] | None = None) -> None:
        """Zones (and camera masks) edited live: the next frame is decoded and runs the model, and the
        masks are rebuilt."""
        self._polygons = [np.asarray(z.polygon, np.float32) for z in zones]
        if masks is not None:
            self._exclude = [np.asarray(m, np.float32) for m in masks]
        self._masks = None
        self._ref = None
        self._ref_ts = -float("inf")

    def _zone_masks(self, shape: tuple[int, int]) -> list[np.ndarray]:
        h, w = shape
        grow = max(1, round(self.config.margin * max(w, h)))
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * grow + 1, 2 * grow + 1))
        def paint(poly: np.ndarray) -> np.ndarray:
            m = np.zeros((h, w), np.uint8)
            cv2.fillPoly(m, [np.round(poly * (w - 1, h - 1)).astype(np.int32)], 1)
            return m

        excluded = np.zeros((h, w), bool)
        for poly in self._exclude:
            excluded |= paint(poly).astype(bool)
        whole = np.float32([[0, 0], [1, 0], [1, 1], [0, 1]])
        return [cv2.dilate(paint(poly), kernel).astype(bool) & ~excluded for poly in self._polygons or [whole]]

    def changed(self, thumb: np.ndarray) -> bool:
        """Whether any zone changed beyond noise since the reference frame."""
        assert self._ref is not None
        if self._masks is None or self._masks[0].shape != thumb.shape:
            self._masks = self._zone_masks(thumb.shape)
        # auto-exposure and passing clouds change the whole view's gain: not motion (the full run
        # every full_run_seconds still sees the new light)
        gain = self._ref_median / max(float(np.median(thumb)), 1.0)
        cur = thumb if abs(gain - 1.0) < 0.02 else cv2.convertScaleAbs(thumb, alpha=gain)
        moved = cv2.absdiff(cur, self._ref) > self.config.pixel_threshold
        for m in self._masks:
            area = int(m.sum())
            if area and int(np.count_nonzero(moved & m)) > max(self.config.min_pixels, self.config.zone_share * area):
                return True
        return False

    @property
    def reference_ts(self) -> float:
        """Capture time of the last frame the model ran on (read by the reader's bytes test)."""
        return self._ref_ts

    def decide(self, ts: float, thumb: np.ndarray | None) -> bool:
        """True: run the model on this frame (it becomes the reference); False: carry forward.

        ``last_change`` keeps the pixel test's verdict for this frame (None where there was no
        reference to test against); the full run is tested too, so a change that a cheaper test
        before decoding missed is seen there (pipeline/stream_bytes.py)."""
        comparable = thumb is not None and self._ref is not None and self._ref.shape == thumb.shape
        self.last_change = self.changed(thumb) if comparable else None  # type: ignore[arg-type]
        run = (not comparable or ts - self._ref_ts >= self.config.full_run_seconds or ts < self._ref_ts
               or bool(self.last_change))
        if run:
            self._ref, self._ref_ts = thumb, ts
            self._ref_median = max(float(np.median(thumb)), 1.0) if thumb is not None else 1.0
            self.runs += 1
        else:
            self.skips += 1
        return run

    def carry(self) -> None:
        """A frame that was not even decoded (its stream's bytes showed nothing moved): a skip."""
        self.last_change = None
        self.skips += 1
