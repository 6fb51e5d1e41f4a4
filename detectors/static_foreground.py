"""Class-agnostic static foreground: pixels that differ from the long-term background and have
stopped changing.

Fixed cameras see a dumped bag, a pile of rubble or a rack of goods the same way whatever it is:
something new appeared and stayed. This model finds that at reduced resolution (``width`` pixels
wide, about 1/16 of the pixels of 720p), time-based so it behaves the same at 1 or 10 analysed fps.

Per pixel it keeps a long-term background ``bg`` (normalised brightness), a noise level, the
appearance ``cand`` a pixel took when it turned foreground, ``since`` (when) and ``acc`` (seconds it
has stayed foreground *and* unchanged). A pixel is static once ``acc >= static_seconds``.

Robustness, in the order it is applied:
- global lighting (clouds, auto-exposure, headlights on the whole view): the frame is divided by the
  robust (median) gain between frame and background before anything is compared;
- local lighting and slow shadows: a pixel is foreground only when its local *structure* changed
  (the contrast-structure term of SSIM over 5x5 windows, which ignores local gain and offset) or its
  brightness changed far beyond what shade or light does; changes that pass neither are absorbed by
  the background at the normal rate;
- camera noise and rain-like flicker: per-pixel noise level (EMA of squared differences) sets the
  threshold; a pixel earns static time only while it stays unchanged and loses it twice as fast
  when it flickers back, so intermittent changes never accumulate;
- people and vehicles: inside boxes of moving tracks the clock is frozen (a passer-by occluding a
  bag neither adds nor removes time); inside boxes of people standing still it runs backwards, so a
  loitering person never becomes a static object, and a bag set down at someone's feet starts to
  count when they walk off.

A full-resolution copy of the background (``bg_full``) is kept in tiles: a tile is refreshed from
the frame whenever nothing in it is foreground, so it shows the place as it was before an object
arrived ("before" evidence).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[int, int, int, int]


class StaticForeground:
    """Dual background (long-term model + stillness clock) of one camera; not thread-safe."""

    def __init__(self, width: int = 320, static_seconds: float = 4.0, bg_seconds: float = 45.0,
                 slow_seconds: float = 900.0, warmup_seconds: float = 6.0, window: int = 5, tile: int = 16,
                 tile_seconds: float = 1.0) -> None:
        self.width = width
        self.static_seconds = static_seconds
        self.bg_seconds = bg_seconds  # background time constant where nothing is in front of it
        self.slow_seconds = slow_seconds  # time constant for foreground that is no object (stops drift)
        self.warmup_seconds = warmup_seconds
        self.window = window
        self.tile = tile
        self.tile_seconds = tile_seconds
        self.size: tuple[int, int] | None = None  # full-resolution (W, H) of the frames
        self.small: tuple[int, int] = (0, 0)
        self.scale = 1.0
        self.t0 = 0.0
        self.last_ts: float | None = None
        self.gain = 1.0
        self.frame_small: np.ndarray | None = None  # normalised current frame (small, float32)
        self.bg_full: np.ndarray | None = None
        self.sens_map: np.ndarray | None = None
        self.fg = np.zeros((0, 0), bool)
        self.static = np.zeros((0, 0), bool)

    # -- geometry ---------------------------------------------------------------------------------
    def to_small(self, box: np.ndarray) -> Box:
        """A full-resolution box [x1,y1,x2,y2] as integer slice bounds at model resolution."""
        w, h = self.small
        s = self.scale
        x1, y1 = int(max(0, math.floor(box[0] * s))), int(max(0, math.floor(box[1] * s)))
        x2, y2 = int(min(w, math.ceil(box[2] * s))), int(min(h, math.ceil(box[3] * s)))
        return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)

    def to_full(self, box: Box) -> np.ndarray:
        return np.array(box, np.float32) / self.scale

    # -- model ------------------------------------------------------------------------------------
    def _init(self, ts: float, image: np.ndarray, gray: np.ndarray) -> None:
        h, w = gray.shape
        self.bg = gray.copy()
        self.var = np.full((h, w), 4.0, np.float32)
        self.cand = gray.copy()
        self.since = np.full((h, w), ts, np.float32)
        self.acc = np.zeros((h, w), np.float32)
        self.fg = np.zeros((h, w), bool)
        self.static = np.zeros((h, w), bool)
        self.protect = np.zeros((h, w), bool)
        self.bg_full = image.copy()
        if self.sens_map is None or self.sens_map.shape != (h, w):
            self.sens_map = np.full((h, w), 0.5, np.float32)
        self.t0 = ts
        self.gain = 1.0
        self._thr_ts = -math.inf
        self._tiles_ts = -math.inf

    def set_sensitivity(self, sens_map: np.ndarray) -> None:
        """Per-pixel sensitivity 0..1 at model resolution (zones paint theirs; elsewhere 0.5)."""
        self.sens_map = sens_map.astype(np.float32)
        self._thr_ts = -math.inf

    def _small_gray(self, image: np.ndarray) -> np.ndarray:
        H, W = image.shape[:2]
        if self.size != (W, H):
            self.size = (W, H)
            self.scale = self.width / W
            self.small = (self.width, max(8, int(round(H * self.scale))))
            self.last_ts = None
            self.sens_map = None
        w, h = self.small
        # two bilinear halvings: the last one is an exact 2x2 mean, the first one too for frames at
        # 4x the model size (1280x720); ~5x faster than INTER_AREA and as good against noise
        small = cv2.resize(cv2.resize(image, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR), (w, h),
                           interpolation=cv2.INTER_LINEAR)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return small.astype(np.float32)

    def _gain(self, gray: np.ndarray) -> float:
        """Median brightness ratio frame/background over background pixels (robust to objects)."""
        step = 4
        g = gray[::step, ::step]
        b = self.bg[::step, ::step]
        ok = (b > 12) & (g > 4) & ~self.fg[::step, ::step] & (b < 250) & (g < 250)
        if int(ok.sum()) < 50:
            ok = (b > 12) & (g > 4)
            if int(ok.sum()) < 50:
                return 1.0
        return float(np.clip(np.median(g[ok] / b[ok]), 0.1, 10.0))

    def _thresholds(self, ts: float) -> None:
        """Per-pixel thresholds; they depend on the slowly changing background and noise only, so
        they are recomputed every few seconds rather than every frame."""
        bg, sens = self.bg, self.sens_map
        assert sens is not None
        k = (self.window, self.window)
        mu_b = cv2.blur(bg, k)
        var_b = np.maximum(cv2.blur(bg * bg, k) - mu_b * mu_b, 0.0)
        noise = np.maximum(self.var, 4.0)
        # change: beyond (4 - 2 s) noise sigmas and a little more than a slight shade
        self.thr = (4.0 - 2.0 * sens) * np.sqrt(noise) + 6.0 + 0.06 * bg
        # structure: local variance of the difference against that of the background itself; a
        # local gain g gives (g - 1)^2, i.e. < 0.36 for shade or light between x0.4 and x1.6
        self.struct_thr = (0.5 - 0.3 * sens) * (var_b + 2.0 * noise + 25.0)
        # a flat object far brighter or darker than any shade
        self.strong_thr = (0.55 - 0.2 * sens) * bg + 30.0
        self._thr_ts = ts

    def update(self, ts: float, image: np.ndarray, freeze: list[np.ndarray], decay: list[np.ndarray]) -> None:
        """Advance to time ``ts`` with a BGR frame; ``freeze``/``decay`` are full-res boxes of moving
        tracks (clock held) and of people standing still (clock runs backwards)."""
        gray = self._small_gray(image)
        if self.last_ts is None or ts < self.last_ts:
            self._init(ts, image, gray)
            self.last_ts = ts
            self.frame_small = gray
            self._thresholds(ts)
            return
        dt = float(min(max(ts - self.last_ts, 0.0), 5.0))
        self.last_ts = ts
        warm = ts - self.t0 < self.warmup_seconds
        if warm or ts - self._thr_ts >= 3.0:
            self._thresholds(ts)
        self.gain = self._gain(gray)
        cur = gray * np.float32(1.0 / self.gain)
        self.frame_small = cur
        bg = self.bg

        # 1. foreground: changed beyond noise, and in structure (or far beyond any shade)
        diff = cur - bg
        absd = np.abs(diff)
        d2 = absd * absd
        k = (self.window, self.window)
        mean_d = cv2.blur(diff, k)
        var_d = cv2.blur(d2, k) - mean_d * mean_d
        fg = (absd > self.thr) & ((var_d > self.struct_thr) | (absd > self.strong_thr))

        # 2. stillness clock
        freeze_m = np.zeros(fg.shape, bool)
        decay_m = np.zeros(fg.shape, bool)
        for box in freeze:
            x1, y1, x2, y2 = self.to_small(box)
            freeze_m[y1:y2, x1:x2] = True
        for box in decay:
            x1, y1, x2, y2 = self.to_small(box)
            decay_m[y1:y2, x1:x2] = True
        freeze_m &= ~decay_m
        held = ~freeze_m
        acc, cand = self.acc, self.cand
        same = cv2.absdiff(cur, cand) < self.thr
        new = fg & (acc <= 0) & held
        np.copyto(cand, cur, where=new)
        np.copyto(self.since, np.float32(ts), where=new)
        grow = fg & same & ~new & held & ~decay_m
        moved = fg & ~same & ~new & held
        u8 = np.uint8
        cv2.accumulateWeighted(cur, cand, 0.2, mask=grow.view(u8))  # follow slow drift of its own look
        cv2.add(acc, dt, dst=acc, mask=grow.view(u8))
        cv2.subtract(acc, 0.75 * dt, dst=acc, mask=(moved | (decay_m & fg)).view(u8))
        cv2.subtract(acc, 2.0 * dt, dst=acc, mask=(~fg & held).view(u8))
        np.maximum(acc, 0.0, out=acc)
        np.copyto(acc, np.float32(1e-3), where=new)
        self.fg = fg
        self.static = acc >= self.static_seconds

        # 3. background: learn where nothing stands in front; very slowly where something that is
        # no protected object stays (lighting patches, fading marks) so they cannot pile up
        tracked = freeze_m | decay_m
        free = ~tracked & ~self.protect
        if warm:
            cv2.accumulateWeighted(cur, bg, 1.0 - math.exp(-dt / 1.5), mask=free.view(u8))
        else:
            cv2.accumulateWeighted(cur, bg, 1.0 - math.exp(-dt / self.bg_seconds), mask=(free & ~fg).view(u8))
            if self.slow_seconds > 0:
                cv2.accumulateWeighted(cur, bg, 1.0 - math.exp(-dt / self.slow_seconds), mask=(free & fg).view(u8))
        # noise: learnt from background pixels and from foreground that keeps changing (flicker,
        # rain, leaves), never from a foreground that holds still (that is an object, not noise)
        quiet = free & (~fg | moved)
        cv2.accumulateWeighted(np.minimum(d2, 225.0), self.var, 1.0 - math.exp(-dt / 30.0), mask=quiet.view(u8))

        # 4. full-resolution background tiles: once a second, refresh tiles with nothing in front
        if ts - self._tiles_ts >= self.tile_seconds:
            self._tiles_ts = ts
            self._refresh_tiles(image, fg | tracked | self.protect | (acc > 0))

    def _refresh_tiles(self, image: np.ndarray, busy: np.ndarray) -> None:
        t = self.tile
        h, w = busy.shape
        ty, tx = (h + t - 1) // t, (w + t - 1) // t
        pad = np.zeros((ty * t, tx * t), bool)
        pad[:h, :w] = busy
        # a tile is clean when neither it nor a neighbour holds anything in front of the background
        dirty = pad.reshape(ty, t, tx, t).any(axis=(1, 3)).view(np.uint8)
        clean = cv2.dilate(dirty, np.ones((3, 3), np.uint8)) == 0
        inv = 1.0 / self.scale
        H, W = image.shape[:2]
        bg_full = self.bg_full
        assert bg_full is not None
        for j in range(ty):
            row = clean[j]
            if not row.any():
                continue
            y1, y2 = int(j * t * inv), min(H, int((j + 1) * t * inv))
            edges = np.flatnonzero(np.diff(np.concatenate(([0], row.view(np.uint8), [0]))))
            for a, b in zip(edges[::2], edges[1::2]):  # runs of clean tiles: one copy each
                x1, x2 = int(a * t * inv), min(W, int(b * t * inv))
                bg_full[y1:y2, x1:x2] = image[y1:y2, x1:x2]

    # -- interventions ------------------------------------------------------------------------------
    def absorb(self, box: Box, image: np.ndarray | None = None) -> None:
        """Make the region part of the background now (handled object, ghost, expired object)."""
        if self.frame_small is None:
            return
        x1, y1, x2, y2 = box
        self.bg[y1:y2, x1:x2] = self.frame_small[y1:y2, x1:x2]
        self.acc[y1:y2, x1:x2] = 0.0
        self.static[y1:y2, x1:x2] = False
        self.fg[y1:y2, x1:x2] = False
        if image is not None and self.bg_full is not None:
            fx1, fy1, fx2, fy2 = [int(round(v)) for v in self.to_full(box)]
            self.bg_full[fy1:fy2, fx1:fx2] = image[fy1:fy2, fx1:fx2]

    def edge_energy(self, mask: np.ndarray, box: Box) -> tuple[float, float]:
        """Mean gradient magnitude on the blob's outline, in the frame and in the background.

        A real object brings its outline with it; a ghost (something that was in the background and
        left) has its outline in the background only.
        """
        x1, y1, x2, y2 = box
        h, w = self.bg.shape
        x1, y1, x2, y2 = max(0, x1 - 2), max(0, y1 - 2), min(w, x2 + 2), min(h, y2 + 2)
        m = mask[y1:y2, x1:x2].astype(np.uint8)
        kernel = np.ones((3, 3), np.uint8)
        band = (cv2.dilate(m, kernel) > 0) & ~(cv2.erode(m, kernel) > 0)
        if not band.any():
            return 0.0, 0.0
        assert self.frame_small is not None

        def grad(img: np.ndarray) -> float:
            roi = img[y1:y2, x1:x2]
            gx = cv2.Sobel(roi, cv2.CV_32F, 1, 0, ksize=3)
            gy = cv2.Sobel(roi, cv2.CV_32F, 0, 1, ksize=3)
            return float(np.sqrt(gx * gx + gy * gy)[band].mean())

        return grad(self.frame_small), grad(self.bg)
