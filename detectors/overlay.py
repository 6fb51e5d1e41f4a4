"""Burned-in overlays (OSD date/time, channel name): text fixed to the frame whose clock digits
change every second, minute and hour.

A digit that changes every ten seconds or every minute holds still in between and looks to the
static-foreground model like a small thing that appeared. What gives it away is its neighbour: the
seconds digit beside it keeps changing, abruptly, at the same place of the frame (not of the scene:
it does not drift with the camera), outside any tracked person or vehicle. ``FlickerMap`` counts such
abrupt changes per pixel with a decay (``tau`` seconds), in frame coordinates at model resolution.

- The engine asks :meth:`FlickerMap.overlay_strip` about a new static region: a thin region in the
  outer bands of the frame with steady flicker right beside it on its own text line is overlay
  text; the engine masks that line from then on (logged), so nothing there is raised.
- :func:`suggest_masks` reads the first minutes of a stream and proposes the text lines as masks
  (fractions of the frame, like zones) for the camera's ``masks``; they are never applied silently.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[int, int, int, int]


class FlickerMap:
    """Decaying count of abrupt per-pixel changes (frame coordinates, model resolution)."""

    def __init__(self, tau: float = 20.0, step: float = 35.0, band: float = 0.2, max_height: float = 0.1) -> None:
        self.tau = tau  # seconds a change is remembered (decays with exp(-t/tau))
        self.step = step  # grey levels between two analysed frames that count as abrupt
        self.band = band  # share of the frame height at top and bottom where overlays sit
        self.max_height = max_height  # overlay text lines are at most this share of the frame height
        self.count: np.ndarray | None = None
        self.window = 5.0  # seconds per window of the regularity count
        self.windows: np.ndarray | None = None  # per pixel: windows in which it changed abruptly
        self.n_windows = 0
        self._win: np.ndarray | None = None
        self._win_t = 0.0
        self._prev: np.ndarray | None = None

    def update(self, gray: np.ndarray, exclude: np.ndarray, dt: float) -> None:
        """One analysed frame (raw grey, model size, frame coordinates); ``exclude``: tracked things."""
        if self._prev is None or self._prev.shape != gray.shape or dt <= 0 or dt > 3.0:
            self._prev = gray
            if self.count is None or self.count.shape != gray.shape:
                self.count = np.zeros(gray.shape, np.float32)
                self.windows = np.zeros(gray.shape, np.uint16)
                self._win = np.zeros(gray.shape, bool)
                self.n_windows, self._win_t = 0, 0.0
            return
        assert self.count is not None
        decay = np.float32(math.exp(-dt / self.tau))
        changed = (cv2.absdiff(gray, self._prev) > self.step) & ~exclude
        self.count *= decay
        self.count += changed
        assert self._win is not None and self.windows is not None
        self._win |= changed
        self._win_t += dt
        if self._win_t >= self.window:  # a clock's digits change in every window, a passer-by's path in few
            self.windows += self._win
            self._win[:] = False
            self.n_windows += 1
            self._win_t = 0.0
        self._prev = gray

    def overlay_strip(self, box: Box, min_flicker: float = 2.5, min_pixels: int = 4) -> Box | None:
        """If the region ``box`` (frame coordinates) is overlay text, the text line it sits on.

        Overlay text: a thin region in the top or bottom band of the frame, with pixels right
        beside it (within five of its heights on the same line) that changed abruptly at least
        ``min_flicker`` times lately (the seconds digit next to a minute digit)."""
        if self.count is None:
            return None
        h, w = self.count.shape
        x1, y1, x2, y2 = box
        bh = y2 - y1
        cy = 0.5 * (y1 + y2)
        if bh > self.max_height * h or (self.band * h < cy < (1.0 - self.band) * h):
            return None
        reach = 5 * max(bh, 3)
        sx1, sx2 = max(0, x1 - reach), min(w, x2 + reach)
        sy1, sy2 = max(0, y1 - 1), min(h, y2 + 1)
        strip = self.count[sy1:sy2, sx1:sx2]
        if int((strip >= min_flicker).sum()) < min_pixels:
            return None
        return self._line(sy1, sy2, sx1, sx2)

    def _line(self, y1: int, y2: int, x1: int, x2: int) -> Box:
        """Widen a strip along its text line: over columns of that line that changed abruptly lately
        (the other clock digits), across gaps of up to two line heights, plus one line height.
        (Persistent edges cannot tell static text from a textured background, so they are not used.)"""
        assert self.count is not None
        h, w = self.count.shape
        cols = self.count[y1:y2].max(axis=0) >= 1.0
        gap = 2 * max(y2 - y1, 3)
        while x1 > 0 and cols[max(0, x1 - gap):x1].any():
            x1 = max(0, x1 - gap) + int(np.argmax(cols[max(0, x1 - gap):x1]))
        while x2 < w and cols[x2:min(w, x2 + gap)].any():
            x2 = x2 + int(np.flatnonzero(cols[x2:min(w, x2 + gap)])[-1]) + 1
        pad = max(y2 - y1, 3)
        return max(0, x1 - pad), max(0, y1 - 1), min(w, x2 + pad), min(h, y2 + 1)

    def lines(self, regular: float = 0.6) -> list[Box]:
        """All text lines that change regularly (for suggestions): thin horizontal runs of pixels in
        the outer bands of the frame that changed abruptly in at least ``regular`` of the windows
        seen (at least six), widened along their text."""
        if self.count is None or self.windows is None or self.n_windows < 6:
            return []
        h, w = self.count.shape
        hot = (self.windows >= regular * self.n_windows).astype(np.uint8)
        hot[int(self.band * h):int(math.ceil((1.0 - self.band) * h))] = 0
        hot = cv2.morphologyEx(hot, cv2.MORPH_CLOSE, np.ones((3, 9), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
        out: list[Box] = []
        for i in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if area < 4 or bh > self.max_height * h:
                continue
            line = self._line(y, y + bh, x, x + bw)
            if not any(_overlaps(line, o) for o in out):
                out.append(line)
        return out


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def box_polygon(box: Box, size: tuple[int, int]) -> list[tuple[float, float]]:
    """A model-resolution box as a zone-style polygon in fractions of the frame."""
    w, h = size
    x1, y1, x2, y2 = box
    fx1, fy1, fx2, fy2 = (round(v, 4) for v in (x1 / w, y1 / h, min(1.0, x2 / w), min(1.0, y2 / h)))
    return [(fx1, fy1), (fx2, fy1), (fx2, fy2), (fx1, fy2)]


def suggest_masks(frames, detect=None, width: int = 320) -> list[list[tuple[float, float]]]:
    """Overlay text lines of a stream's first minutes, as mask polygons (fractions of the frame).

    ``frames`` yields (ts, BGR image) at the analysis rate; ``detect`` (optional) maps an image to
    Detections, whose boxes are left out (people and cars change pixels too). Proposals only: the
    operator copies the ones that are right into the camera's ``masks``."""
    flicker = FlickerMap()
    last_ts = None
    size = (width, width)
    for ts, image in frames:
        H, W = image.shape[:2]
        size = (width, max(8, int(round(H * width / W))))
        gray = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY).astype(np.float32)
        exclude = np.zeros(gray.shape, bool)
        if detect is not None:
            s = width / W
            for x1, y1, x2, y2 in detect(image).xyxy:
                exclude[int(y1 * s):int(math.ceil(y2 * s)), int(x1 * s):int(math.ceil(x2 * s))] = True
        flicker.update(gray, exclude, 0.0 if last_ts is None else ts - last_ts)
        last_ts = ts
    return [box_polygon(line, size) for line in flicker.lines()]
