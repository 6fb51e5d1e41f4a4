"""Class-agnostic static foreground: pixels that differ from the long-term background and have
stopped changing.

Fixed cameras see a dumped bag, a pile of rubble or a rack of goods the same way whatever it is:
something new appeared and stayed. This model finds that at reduced resolution (``width`` pixels
wide, about 1/16 of the pixels of 720p), time-based so it behaves the same at 1 or 10 analysed fps.

Per pixel it keeps a long-term background ``bg`` (normalised brightness), a noise level, the
appearance ``cand`` a pixel took when it turned foreground, ``since`` (when it turned foreground from
background, relative to ``epoch``) and ``acc`` (seconds it
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
  count when they walk off;
- camera drift, jumps and shake: every frame its offset from the model is measured
  (detectors/camera_motion.py: ECC, phase correlation for jumps) and the frame is warped onto the
  model, which never moves; frames that do not align or were blurred by a move hold the clock; when
  most of the view changed for seconds (camera turned, zoomed, infrared switched on) the model
  re-learns, keeping what it knew under known objects;
- masks (camera masks, overlay text lines the engine found) are never foreground.

A full-resolution copy of the background (``bg_full``) is kept in tiles: a tile is refreshed from
the frame whenever nothing in it is foreground, so it shows the place as it was before an object
arrived ("before" evidence).
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from streetwarden.detectors.camera_motion import CameraMotion, MotionEstimate
from streetwarden.detectors.overlay import FlickerMap

Box = tuple[int, int, int, int]


class StaticForeground:
    """Dual background (long-term model + stillness clock) of one camera; not thread-safe."""

    def __init__(self, width: int = 320, static_seconds: float = 4.0, bg_seconds: float = 45.0,
                 slow_seconds: float = 900.0, warmup_seconds: float = 6.0, window: int = 5, tile: int = 16,
                 tile_seconds: float = 2.0, hold_seconds: float = 6.0, scene_change: float = 0.4,
                 blur_step: float = 1.0) -> None:
        self.width = width
        self.static_seconds = static_seconds
        self.bg_seconds = bg_seconds  # background time constant where nothing is in front of it
        self.slow_seconds = slow_seconds  # time constant for foreground that is no object (stops drift)
        self.warmup_seconds = warmup_seconds
        self.window = window
        self.tile = tile
        self.tile_seconds = tile_seconds
        self.hold_seconds = hold_seconds  # static time banked beyond static_seconds (rides out occlusions)
        self.scene_change = scene_change  # foreground share of the view that means the view itself changed
        self._changed_since: float | None = None
        self.motion = CameraMotion()
        self.blur_step = blur_step  # model pixels of camera motion in one frame that blur it: clock held
        self.still_offset = 0.05  # model pixels: a camera offset below it is not warped for
        self.half: np.ndarray | None = None  # the frame at 2x the model width (colour), this frame
        self.last_motion: MotionEstimate | None = None
        self.motion_ms = 0.0  # cost of the last motion estimate
        self._full_offset = np.zeros(2, np.float64)
        self.mask_frame: np.ndarray | None = None  # frame pixels never analysed (camera masks, overlays)
        self.masked: np.ndarray | None = None  # the same in model coordinates, this frame
        self.flicker = FlickerMap()
        self.resets = 0
        self.size: tuple[int, int] | None = None  # full-resolution (W, H) of the frames
        self.small: tuple[int, int] = (0, 0)
        self.scale = 1.0
        self.t0 = 0.0
        self.epoch = 0.0
        self.last_ts: float | None = None
        self.gain = 1.0
        self.frame_small: np.ndarray | None = None  # normalised current frame (small, float32)
        self.bg_full: np.ndarray | None = None
        self.sens_map: np.ndarray | None = None
        self.fg = np.zeros((0, 0), bool)
        self.static = np.zeros((0, 0), bool)

    # -- geometry ---------------------------------------------------------------------------------
    def to_small(self, box: np.ndarray, *, frame: bool = False) -> Box:
        """A full-resolution box [x1,y1,x2,y2] of the current frame as integer slice bounds at model
        resolution, in model coordinates (the camera's offset taken off), or the frame's with ``frame``."""
        w, h = self.small
        s = self.scale
        ox, oy = (0.0, 0.0) if frame else self.motion.offset
        x1, y1 = int(max(0, math.floor(box[0] * s - ox))), int(max(0, math.floor(box[1] * s - oy)))
        x2, y2 = int(min(w, math.ceil(box[2] * s - ox))), int(min(h, math.ceil(box[3] * s - oy)))
        x1, y1 = min(x1, w - 1), min(y1, h - 1)
        return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)

    def to_full(self, box: Box) -> np.ndarray:
        """A model box as a full-resolution box of the current frame (where the camera points now)."""
        ox, oy = self.motion.offset
        return (np.array(box, np.float32) + np.float32([ox, oy, ox, oy])) / self.scale

    # -- model ------------------------------------------------------------------------------------
    def _init(self, ts: float, image: np.ndarray, gray: np.ndarray) -> None:
        h, w = gray.shape
        self.bg = gray.copy()
        self.var = np.full((h, w), 4.0, np.float32)
        self.cand = gray.copy()
        self.epoch = ts  # ``since`` is kept relative to it: float32 cannot hold Unix times to the second
        self.since = np.zeros((h, w), np.float32)
        self.acc = np.zeros((h, w), np.float32)
        self.fg = np.zeros((h, w), bool)
        self.static = np.zeros((h, w), bool)
        self.protect = np.zeros((h, w), bool)
        self._no_pixels = np.zeros((h, w), bool)  # read-only: "no pixel out of view"
        self.bg_full = image.copy()
        if self.sens_map is None or self.sens_map.shape != (h, w):
            self.sens_map = np.full((h, w), 0.5, np.float32)
        self.t0 = ts
        self.gain = 1.0
        self._thr_ts = -math.inf
        self._tiles_ts = -math.inf
        self._fg_base = 0.0
        self.motion.reset()
        self._full_offset = np.zeros(2, np.float64)

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
        # 4x the model size (1280x720); ~5x faster than INTER_AREA and as good against noise. The
        # first one (colour, 2x the model width) is kept as ``half``: the frame memory stores it
        # rather than downscaling the source frame a second time.
        self.half = cv2.resize(image, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
        small = cv2.resize(self.half, (w, h), interpolation=cv2.INTER_LINEAR)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return small.astype(np.float32)

    def _gain(self, gray: np.ndarray) -> float:
        """Median brightness ratio frame/background over a fixed grid of background pixels (robust
        to objects and people, who are a minority of any view)."""
        h, w = gray.shape
        grid = (slice(2, h - 2, 6), slice(2, w - 2, 6))  # strided views: nothing gathered
        g, b = gray[grid], self.bg[grid]
        ok = (b > 12) & (b < 250) & (g > 4) & (g < 250) & ~self.fg[grid]
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

    def _foreground(self, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(foreground mask, frame - background, its square) for a normalised frame."""
        diff = cur - self.bg
        absd = np.abs(diff)
        d2 = absd * absd
        k = (self.window, self.window)
        mean_d = cv2.blur(diff, k)
        var_d = cv2.blur(d2, k) - mean_d * mean_d
        fg = (absd > self.thr) & ((var_d > self.struct_thr) | (absd > self.strong_thr))
        return fg, diff, d2

    def _box_mask(self, boxes: list[np.ndarray], shape: tuple[int, int], *, frame: bool = False) -> np.ndarray:
        """Full-resolution boxes painted at model resolution (in frame coordinates with ``frame``);
        the bounds of :meth:`to_small`, for all boxes at once."""
        m = np.zeros(shape, bool)
        if not boxes:
            return m
        w, h = self.small
        ox, oy = (0.0, 0.0) if frame else self.motion.offset
        b = np.asarray(boxes, np.float64).reshape(-1, 4) * self.scale - np.array([ox, oy, ox, oy])
        x1 = np.minimum(np.maximum(np.floor(b[:, 0]), 0), w - 1).astype(int)
        y1 = np.minimum(np.maximum(np.floor(b[:, 1]), 0), h - 1).astype(int)
        x2 = np.maximum(np.minimum(np.ceil(b[:, 2]), w), x1 + 1).astype(int)
        y2 = np.maximum(np.minimum(np.ceil(b[:, 3]), h), y1 + 1).astype(int)
        for a, c, d, e in zip(x1.tolist(), y1.tolist(), x2.tolist(), y2.tolist()):
            m[c:e, a:d] = True
        return m

    def _align(self, gray: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The frame in model coordinates (warped by the camera offset ``offset``) and the mask of
        model pixels the frame does not cover (out of view after the move: left alone; None when
        there are none). An offset under ``still_offset`` model px is no move: a twentieth of a
        pixel changes no comparison, and the two warps per frame are most of a still camera's cost."""
        ox, oy = (float(v) for v in offset)
        h, w = gray.shape
        if abs(ox) < self.still_offset and abs(oy) < self.still_offset:
            return gray, None
        m = np.float32([[1, 0, ox], [0, 1, oy]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        cur = cv2.warpAffine(gray, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        xs, ys = np.arange(w, dtype=np.float32) + ox, np.arange(h, dtype=np.float32) + oy
        out = ((ys < 0) | (ys > h - 1))[:, None] | ((xs < 0) | (xs > w - 1))[None, :]
        return cur, out

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

        # 0. camera motion: where the frame lies on the model (drift followed every frame, jumps
        # searched for)
        t_motion = time.perf_counter()
        moving_boxes = self._box_mask(freeze + decay, gray.shape, frame=True)
        prev = self.motion.offset.copy()
        rough = self._align(gray, prev)  # the frame where the camera pointed last: reused if it did not move
        self.last_motion = est = self.motion.estimate(ts, self.bg, gray, moving_boxes, self._outliers(rough[0]))
        self.motion_ms = (time.perf_counter() - t_motion) * 1000.0
        # not aligned (a big thing drove through, or the view changed): the last offset is kept and
        # the clock held; a real change of view shows as most of the view changing (re-learn below)
        unaligned = not est.aligned
        self.flicker.update(gray * np.float32(1.0 / self.gain), moving_boxes, dt)
        raw, out_of_view = rough if np.array_equal(self.motion.offset, prev) else self._align(gray, self.motion.offset)
        self.gain = self._gain(raw)
        cur = raw * np.float32(1.0 / self.gain)
        if out_of_view is None:
            out_of_view = self._no_pixels
        elif out_of_view.any():
            np.copyto(cur, self.bg, where=out_of_view)  # no news about what the camera no longer sees
        self.frame_small = cur
        decay_m = self._box_mask(decay, cur.shape)
        freeze_m = self._box_mask(freeze, cur.shape) & ~decay_m
        tracked = freeze_m | decay_m
        if unaligned or est.step > self.blur_step or self.motion.shaking:
            freeze_m = ~decay_m  # the camera moved during this frame (or keeps shaking): no evidence of stillness

        # 1. foreground: changed beyond noise, and in structure (or far beyond any shade)
        fg, diff, d2 = self._foreground(cur)
        self.masked = None if self.mask_frame is None else self._to_model(self.mask_frame)
        if self.masked is not None:
            fg &= ~self.masked  # masks: nothing there is analysed (its clock never runs)
        share = float((fg & ~tracked).mean())
        self._fg_base += (1.0 - math.exp(-dt / 30.0)) * (share - self._fg_base)
        bg = self.bg

        # 2. stillness clock
        held = ~freeze_m
        acc, cand = self.acc, self.cand
        same = cv2.absdiff(cur, cand) < self.thr
        new = fg & (acc <= 0) & held
        np.copyto(cand, cur, where=new)
        # ``since``: when each pixel turned foreground (from background). A bag set down at someone's
        # feet counts from when it was set down, though its clock only runs once they walk off.
        np.copyto(self.since, np.float32(ts - self.epoch), where=fg & ~self.fg)
        grow = fg & same & ~new & held & ~decay_m
        moved = fg & ~same & ~new & held
        u8 = np.uint8
        cv2.accumulateWeighted(cur, cand, 0.2, mask=grow.view(u8))  # follow slow drift of its own look
        cv2.add(acc, dt, dst=acc, mask=grow.view(u8))
        cv2.subtract(acc, 0.75 * dt, dst=acc, mask=(moved | (decay_m & fg)).view(u8))
        cv2.subtract(acc, 2.0 * dt, dst=acc, mask=(~fg & held).view(u8))
        np.clip(acc, 0.0, self.static_seconds + self.hold_seconds, out=acc)
        np.copyto(acc, np.float32(1e-3), where=new)
        self.fg = fg
        self.static = acc >= self.static_seconds

        # 3. background: learn where nothing stands in front; very slowly where something that is
        # no protected object stays (lighting patches, fading marks) so they cannot pile up
        if self._view_changed(ts, share):
            self._relearn(ts, image, cur)
            return
        free = ~tracked & ~self.protect & ~(freeze_m & ~decay_m)  # nothing learnt from a held frame either
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

        # 4. full-resolution background tiles: every few seconds, refresh tiles with nothing in front
        if ts - self._tiles_ts >= self.tile_seconds:
            self._tiles_ts = ts
            self._sync_full()
            self._refresh_tiles(image, self._to_frame(fg | tracked | self.protect | (acc > 0) | out_of_view) | moving_boxes)

    def _outliers(self, rough: np.ndarray) -> np.ndarray:
        """Frame pixels (frame coordinates) that disagree with the model at the last offset (``rough``:
        the frame warped by it), grown a little: things moving through (untracked cars, people) and
        last frame's foreground."""
        bad = (cv2.absdiff(rough * np.float32(1.0 / self.gain), self.bg) > self.thr) | self.fg
        bad = cv2.dilate(bad.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
        return self._to_frame(bad)

    def _to_model(self, mask: np.ndarray) -> np.ndarray:
        """A frame-coordinate mask (model size) in model coordinates (the camera's offset taken off)."""
        ox, oy = self.motion.offset
        if abs(ox) < 0.5 and abs(oy) < 0.5:
            return mask
        m = np.float32([[1, 0, round(ox)], [0, 1, round(oy)]])
        return cv2.warpAffine(mask.view(np.uint8), m, (mask.shape[1], mask.shape[0]),
                              flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0

    def _to_frame(self, mask: np.ndarray) -> np.ndarray:
        """A model-coordinate mask moved to where the camera points now (frame coordinates)."""
        ox, oy = self.motion.offset
        if abs(ox) < 0.5 and abs(oy) < 0.5:
            return mask
        m = np.float32([[1, 0, round(ox)], [0, 1, round(oy)]])
        return cv2.warpAffine(mask.view(np.uint8), m, (mask.shape[1], mask.shape[0]), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=1) > 0

    def background_full(self) -> np.ndarray | None:
        """The full-resolution background, moved to where the camera points now."""
        self._sync_full()
        return self.bg_full

    def _sync_full(self) -> None:
        """Move ``bg_full`` with the camera when it drifted half a source pixel since it was last moved."""
        if self.bg_full is None:
            return
        d = (self.motion.offset - self._full_offset) / self.scale
        if float(np.abs(d).max()) < 0.5:
            return
        H, W = self.bg_full.shape[:2]
        m = np.float32([[1, 0, d[0]], [0, 1, d[1]]])
        self.bg_full = cv2.warpAffine(self.bg_full, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        self._full_offset = self.motion.offset.copy()

    def _relearn(self, ts: float, image: np.ndarray, cur: np.ndarray) -> None:
        """Start over from this frame, but keep what the model knew under known objects (if the
        view did not really change they are still there, and a pile must not be forgotten) and
        the noise levels."""
        keep = self.protect
        saved = [(name, getattr(self, name)[keep]) for name in ("bg", "var", "cand", "since", "acc")]
        epoch, bg_full, noise = self.epoch, self.bg_full, self.var
        self._init(ts, image, cur)
        self.var = noise  # the camera's noise (and its fluttering tape) did not change with the view
        for name, values in saved:
            arr = getattr(self, name)
            arr[keep] = values + (epoch - self.epoch if name == "since" else 0.0)
        self.protect = keep
        if bg_full is not None and keep.any() and self.bg_full is not None:
            big = cv2.resize(keep.view(np.uint8), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
            self.bg_full[big] = bg_full[big]

    def _view_changed(self, ts: float, share: float) -> bool:
        """Most of the view (``share`` of it outside tracked boxes) differs for 3 s: the camera
        moved far, zoomed or switched to infrared. Re-learn from the current frame rather than
        raise the whole view as one object."""
        if share < self.scene_change:
            self._changed_since = None
            return False
        if self._changed_since is None:
            self._changed_since = ts
        if ts - self._changed_since < 3.0:
            return False
        self._changed_since = None
        self.resets += 1
        return True

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
            self._sync_full()
            fx1, fy1, fx2, fy2 = [int(round(v)) for v in self.to_full(box)]
            self.bg_full[fy1:fy2, fx1:fx2] = image[fy1:fy2, fx1:fx2]

    def lighting_stats(self, mask: np.ndarray, box: Box) -> tuple[float, float, float, float]:
        """How much a static region looks like a change of light rather than a thing.

        Returns (hollow, ripple, ncc, texture): the share of the filled region that is *not*
        foreground (light and shade change a region's edge, not its inside, unless very strong);
        the median high-frequency part of log(frame/background) inside (shade and light scale the
        ground smoothly; a thing replaces its texture); the correlation of frame and background
        inside (shade keeps the ground's texture); and the background's texture there.
        """
        x1, y1, x2, y2 = box
        assert self.frame_small is not None
        m = np.pad(mask[y1:y2, x1:x2].astype(np.uint8), 1)
        flood = m.copy()
        cv2.floodFill(flood, np.zeros((m.shape[0] + 2, m.shape[1] + 2), np.uint8), (0, 0), 2)
        filled = (flood != 2)[1:-1, 1:-1]
        blob = m[1:-1, 1:-1] > 0
        area = max(int(filled.sum()), 1)
        hollow = 1.0 - int(blob.sum()) / area
        cur = self.frame_small[y1:y2, x1:x2]
        bg = self.bg[y1:y2, x1:x2]
        lr = np.log1p(cur) - np.log1p(bg)
        ripple_map = np.abs(lr - cv2.blur(lr, (3, 3)))
        inner = cv2.erode(filled.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        if int(inner.sum()) < 6:
            inner = filled
        ripple = float(np.median(ripple_map[inner]))
        c, b = cur[inner], bg[inner]
        sc, sb = float(c.std()), float(b.std())
        ncc = float(((c - c.mean()) * (b - b.mean())).mean() / (sc * sb)) if sc > 1e-3 and sb > 1e-3 else 0.0
        return hollow, ripple, ncc, sb

    def appeared(self, mask: np.ndarray) -> float:
        """When the pixels of ``mask`` turned foreground (median), in the caller's seconds."""
        return float(np.median(self.since[mask])) + self.epoch

    def absorb_mask(self, mask: np.ndarray, box: Box) -> None:
        """Make the pixels of ``mask`` (model resolution, only its ``box`` part is read) background."""
        if self.frame_small is None:
            return
        x1, y1, x2, y2 = box
        m = mask[y1:y2, x1:x2]
        for arr, src in ((self.bg, self.frame_small), (self.cand, self.frame_small)):
            roi = arr[y1:y2, x1:x2]
            roi[m] = src[y1:y2, x1:x2][m]
        self.acc[y1:y2, x1:x2][m] = 0.0
        self.static[y1:y2, x1:x2][m] = False

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
