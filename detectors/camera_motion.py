"""Where the camera points now, relative to the background model: per-frame global translation.

A camera on a pole drifts a few pixels (wind, heat, a loose mount) and sometimes jumps. Compared
pixel by pixel against a background learnt a few pixels away, painted lines and textured ground
turn into "new objects". Every analysed frame the frame's offset from the model is measured with
OpenCV's ECC (``findTransformECC``, translation, on the high-passed half-resolution image, started
from the last offset), so slow drift is followed to a fraction of a pixel and the background never
has to be resampled. A jump the ECC cannot follow from the last offset is looked for by phase
correlation and refined by ECC again; a frame that still does not align is reported as such, and
the caller treats a run of them as a change of view. ECC is a correlation, so changes of light are
not taken for motion; moving things are masked out by the caller. Most frames of a fixed camera
did not move: one Gauss-Newton step from the last offset tells so for a fifth of ECC's cost, and
ECC runs only when that step (or the correlation) says otherwise.

Frame-to-frame motion is also kept over a window, so a camera that keeps shaking can be reported
(``shaking``) instead of raising candidates from its blur.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class MotionEstimate:
    """Offset (model pixels) of the frame from the model: frame(x + offset) shows model pixel x."""

    offset: tuple[float, float]
    aligned: bool  # the model explains the frame at this offset
    rho: float  # ECC correlation at the offset (0..1)
    step: float  # model pixels moved since the previous frame
    jumped: bool  # found by the jump search (phase correlation), not by following the drift


class CameraMotion:
    """Follows one camera's global translation against its background model; not thread-safe."""

    def __init__(self, *, min_rho: float = 0.35, rel_rho: float = 0.6, max_offset: float = 40.0,
                 shake_step: float = 0.5, shake_share: float = 0.3, shake_window: float = 20.0,
                 iterations: int = 25) -> None:
        self.min_rho = min_rho  # below this correlation the frame is not aligned
        self.rel_rho = rel_rho  # ... or below this share of the usual correlation
        self.max_offset = max_offset  # model pixels; beyond it the view changed rather than drifted
        self.shake_step = shake_step  # model pixels per frame that count as a shake
        self.shake_share = shake_share  # share of frames with a shake that makes the camera "shaking"
        self.shake_window = shake_window  # seconds over which that share is taken
        self.criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-3)
        self.offset = np.zeros(2, np.float64)
        self.usual_rho = 0.0
        self.steps: deque[tuple[float, float]] = deque()
        self.jumps = 0
        self.lost_frames = 0
        self.unaligned_since: float | None = None  # first of the current run of frames that did not align
        self.settle = 0.05  # half-resolution px: a Gauss-Newton step below it means "not moved", no ECC
        self.settled_frames = 0  # frames for which ECC was skipped
        self.ref_seconds = 1.0  # how long the model's texture is reused
        self._ref: tuple[float, np.ndarray] | None = None

    def reset(self) -> None:
        """The model was re-learnt from the current frame: offsets start again at zero."""
        self.offset[:] = 0.0
        self.usual_rho = 0.0
        self._ref = None
        self.unaligned_since = None

    @staticmethod
    def texture(img: np.ndarray) -> np.ndarray:
        """Half resolution, local mean removed: structure only, no light ramps or offsets."""
        h, w = img.shape
        half = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        return half - cv2.blur(half, (7, 7))

    def _ecc(self, ref: np.ndarray, cur: np.ndarray, mask: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float] | None:
        warp = np.float32([[1, 0, start[0]], [0, 1, start[1]]])
        try:
            rho, warp = cv2.findTransformECC(ref, cur, warp, cv2.MOTION_TRANSLATION, self.criteria, mask, 3)
        except cv2.error:
            return None  # did not converge: too little texture, or too far away
        off = np.array([warp[0, 2], warp[1, 2]], np.float64)
        if not np.all(np.isfinite(off)):
            return None
        return off, float(rho)

    def estimate(self, ts: float, bg: np.ndarray, cur: np.ndarray, exclude: np.ndarray,
                 outliers: np.ndarray | None = None) -> MotionEstimate:
        """Offset of ``cur`` (grey frame, model size) from ``bg`` (the model), with ``exclude``
        (frame coordinates, model size) the pixels not to trust (tracked things) and ``outliers``
        those that disagree with the model at the last offset (an untracked car driving through):
        left out when following the drift, not when searching for a jump."""
        ref, img = self._reference(ts, bg), self.texture(cur)
        h, w = ref.shape
        mask = self._mask(exclude, (w, h))
        prev = self.offset.copy()
        follow = mask if outliers is None else mask & self._mask(exclude | outliers, (w, h))
        follow = follow if int(follow.sum()) > 0.2 * follow.size else mask
        settled = self._settled(ref, img, follow, prev / 2.0)
        if settled is not None:  # the camera did not move: ECC would find the same offset
            self.usual_rho = settled if self.usual_rho == 0.0 else 0.95 * self.usual_rho + 0.05 * settled
            self.unaligned_since = None
            self.settled_frames += 1
            self._record(ts, 0.0)
            return MotionEstimate((float(prev[0]), float(prev[1])), True, settled, 0.0, False)
        best = self._ecc(ref, img, follow, prev / 2.0)
        jumped = False
        if best is None or not self._good(best[1]):
            # a jump: the coarse shift by phase correlation (the whole view at once), then ECC again
            win = cv2.createHanningWindow((w, h), cv2.CV_32F)
            (px, py), _ = cv2.phaseCorrelate(ref, img, win)
            guess = self._ecc(ref, img, mask, np.array([px, py]))
            if guess is not None and (best is None or guess[1] > best[1]):
                best, jumped = guess, True
        if best is None:
            self._lost(ts)
            return MotionEstimate((float(prev[0]), float(prev[1])), False, 0.0, 0.0, False)
        off, rho = best[0] * 2.0, best[1]
        aligned = self._good(rho) and float(np.abs(off).max()) <= self.max_offset
        if not aligned:
            self._lost(ts)
            return MotionEstimate((float(prev[0]), float(prev[1])), False, rho, 0.0, jumped)
        step = float(math.hypot(*(off - prev)))
        self.offset = off
        self.usual_rho = rho if self.usual_rho == 0.0 else 0.95 * self.usual_rho + 0.05 * rho
        self.jumps += int(jumped)
        self.unaligned_since = None
        self._record(ts, step)
        return MotionEstimate((float(off[0]), float(off[1])), True, rho, step, jumped)

    def _reference(self, ts: float, bg: np.ndarray) -> np.ndarray:
        """The model's texture, made again every ``ref_seconds``: the model learns at a 45-s time
        constant, so a texture a second old is the same one (and a re-learn resets it)."""
        if self._ref is None or self._ref[1].shape != (bg.shape[0] // 2, bg.shape[1] // 2) or abs(ts - self._ref[0]) >= self.ref_seconds:
            self._ref = (ts, self.texture(bg))
        return self._ref[1]

    def _settled(self, ref: np.ndarray, img: np.ndarray, mask: np.ndarray, start: np.ndarray) -> float | None:
        """The correlation at the last offset ``start`` (half-resolution px) when one Gauss-Newton
        step from there moves less than ``settle`` px and the correlation is as usual: the camera
        has not moved. Costs a fifth of an ECC call (whose set-up alone is most of its time); slow
        drift still reaches ECC once it adds up to ``settle``. None: ask ECC."""
        if self.usual_rho == 0.0:
            return None  # nothing known yet of this view's correlation
        h, w = ref.shape
        if abs(start[0]) > 1e-6 or abs(start[1]) > 1e-6:
            warp = np.float32([[1, 0, start[0]], [0, 1, start[1]]])
            img = cv2.warpAffine(img, warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
        n = float(cv2.countNonZero(mask))
        if n < 0.2 * mask.size:
            return None
        # sums over the mask as dot products of whole (small) images: no gathers, no copies
        wgt = mask.astype(np.float32).ravel()
        r = cv2.GaussianBlur(ref, (3, 3), 0).ravel()  # as ECC filters both images (gaussFiltSize 3)
        c = cv2.GaussianBlur(img, (3, 3), 0).ravel()
        rw = r * wgt
        sr, sc = float(rw.sum()), float(c @ wgt)
        mr, mc = sr / n, sc / n
        srr, scc, src = float(rw @ r) - n * mr * mr, float(c @ (c * wgt)) - n * mc * mc, float(rw @ c) - n * mr * mc
        if srr < 1e-6 or scc < 1e-6:
            return None
        rho = src / math.sqrt(srr * scc)
        if not self._good(rho):
            return None
        k = math.sqrt(srr / scc)  # the frame scaled to the model's contrast
        r2 = r.reshape(ref.shape)
        gx = cv2.Sobel(r2, cv2.CV_32F, 1, 0, ksize=3, scale=0.125).ravel() * wgt
        gy = cv2.Sobel(r2, cv2.CV_32F, 0, 1, ksize=3, scale=0.125).ravel() * wgt
        hxx, hyy = float(gx @ gx), float(gy @ gy)
        hxy = float(gx @ gy)
        det = hxx * hyy - hxy * hxy
        if det <= 1e-9 * max(hxx * hyy, 1e-12):
            return None  # texture in one direction only: no reliable step
        # one Gauss-Newton step: sum of gradient x ((r - mr) - k (c - mc)) over the mask
        sgx, sgy = float(gx.sum()), float(gy.sum())
        bx = float(gx @ r) - mr * sgx - k * (float(gx @ c) - mc * sgx)
        by = float(gy @ r) - mr * sgy - k * (float(gy @ c) - mc * sgy)
        dx, dy = (hyy * bx - hxy * by) / det, (hxx * by - hxy * bx) / det
        return rho if math.hypot(dx, dy) < self.settle else None

    @staticmethod
    def _mask(exclude: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        mask = (cv2.resize(exclude.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) == 0).view(np.uint8)
        mask[:3], mask[-3:], mask[:, :3], mask[:, -3:] = 0, 0, 0, 0
        return mask

    def _lost(self, ts: float) -> None:
        self._record(ts, 0.0)
        self.lost_frames += 1
        if self.unaligned_since is None:
            self.unaligned_since = ts

    def _good(self, rho: float) -> bool:
        return rho >= self.min_rho and (self.usual_rho == 0.0 or rho >= self.rel_rho * self.usual_rho)

    def _record(self, ts: float, step: float) -> None:
        self.steps.append((ts, step))
        while self.steps and ts - self.steps[0][0] > self.shake_window:
            self.steps.popleft()

    @property
    def shaking(self) -> bool:
        """The camera moved by more than ``shake_step`` in a good share of the recent frames."""
        if len(self.steps) < 5 or self.steps[-1][0] - self.steps[0][0] < 0.5 * self.shake_window:
            return False
        moved = sum(1 for _, s in self.steps if s > self.shake_step)
        return moved >= self.shake_share * len(self.steps)
