"""Left-behind objects: static-foreground regions become objects, candidates for illegal dumping
(zone kind ``no_dumping``) and out-of-shop trading (``shopfront``), with no trained class needed.

The engine is an observer of ``CameraEngine`` (created automatically when a camera has such zones):
each analysed frame it updates the pixel model (detectors/static_foreground.py), turns connected
static regions into objects with stable keys (negative, so they never collide with track ids),
merges them with the detector's output and returns one Observation per object and zone. The usual
dwell timers, incident book and rule then decide when a candidate opens; the observation carries
``started`` (when the object appeared), so the zone's dwell counts from the appearance.

A static region is no object when it is a line (tape, wire, shadow edge: thinner than
``min_thickness`` model pixels), a ghost (its outline is in the background, not in the frame:
something of the background went away), a change of light (smooth ratio to the background, ground
texture kept), or a quarter of the view; such regions are taken into the background.

Merging with detections:
- a region covered by a person standing still (now, or within ``person_memory`` seconds: detectors
  miss standing people now and then) is that person, not an object; a region covered by a car,
  truck, bus or motorcycle belongs to the parking rule;
- a region that appeared beside a person standing within arm's reach (``reach`` of their height)
  is theirs, like one within half its size of them: a hand on a desk, or what they set down; it is
  not reported while they stay, and its dwell starts when they leave (if it is still there);
- otherwise it is labelled with the class of the detection that overlaps it most often (e.g.
  ``suitcase``, ``chair``), else ``unknown``; it is reported once it has been seen clear of people
  and vehicles for ``confirm_seconds``.

Evidence for the reviewer (passed on open): ``before`` (the full-resolution background from before
the object appeared, box drawn), ``after`` (the frame once it was established), and ``attribution``
crops of the tracks (person, tricycle, truck...) that were at its place in the seconds before it
appeared, nearest in time first. The same facts are in the candidate's attributes.

Removal and absorption: an object whose region returns to the background is dropped after
``lost_seconds`` (the candidate's ``last_seen`` stops advancing and the incident book closes it); if
it comes back at the same place within ``reappear_seconds`` it is the same object (same key, same
appearance time), so the candidate is updated rather than raised again. An object stays out of the
background model until :meth:`LeftBehindEngine.mark_handled` / :meth:`LeftBehindEngine.absorb` is
called (a reviewer decided; the review-decision code is meant to call it) or it is older than its
zone's ``max_age_seconds``, so a long-standing pile is not forgotten. Objects outside every watched
zone are absorbed after ``outside_absorb_seconds``.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from streetwarden.detectors.events import EvidenceImage
from streetwarden.detectors.frame_memory import FrameMemory
from streetwarden.detectors.overlay import box_polygon
from streetwarden.detectors.rules.base import Observation, SceneView
from streetwarden.detectors.static_foreground import Box, StaticForeground
from streetwarden.detectors.zones import Zone
from streetwarden.models.detections import box_iou
from streetwarden.config import ZoneKind
from streetwarden.logs import event

log = logging.getLogger("streetwarden.left_behind")

LEFT_BEHIND_KINDS = frozenset({ZoneKind.no_dumping, ZoneKind.shopfront})
PERSON_LABELS = frozenset({"person"})
VEHICLE_LABELS = frozenset({"car", "truck", "bus", "motorcycle", "train"})
ATTRIBUTION_LABELS = frozenset({"person", "bicycle", "motorcycle", "car", "truck", "bus", "tricycle", "cart"})
KEY_BASE = -1_000_000  # static-object keys are KEY_BASE - n: never equal to a tracker id (>= 1)


@dataclass
class StaticObject:
    """One left-behind object (or a static person/vehicle region the engine keeps apart)."""

    id: int
    box: np.ndarray  # full-resolution xyxy
    small: Box
    appeared: float
    born: float
    last_seen: float
    area_px: float  # full-resolution pixels of its region (the largest seen while it is whole)
    votes: dict[str, float] = field(default_factory=dict)
    person_ts: float = -math.inf
    person_tid: int | None = None  # the person who covered it last
    owner_until: float = -math.inf  # its owner stood near it without a break from its appearance until then
    owners: set[int] = field(default_factory=set)  # tracks near it when it appeared
    first_frame: tuple[float, np.ndarray] | None = None
    first_frame_for: float | None = None  # the start time first_frame was looked up for
    vehicle_ts: float = -math.inf
    vehicle_hits: int = 0
    hits: int = 0
    shrunk_since: float = math.inf
    clear_since: float = math.inf
    evidence: list[EvidenceImage] = field(default_factory=list)
    attribution: list[dict] = field(default_factory=list)
    attribution_crops: list[EvidenceImage] = field(default_factory=list)
    present: bool = True

    @property
    def key(self) -> int:
        return KEY_BASE - self.id

    @property
    def label(self) -> str:
        if not self.votes:
            return "unknown"
        name, weight = max(self.votes.items(), key=lambda kv: kv[1])
        return name if weight >= 0.3 * max(self.hits, 1) else "unknown"


@dataclass
class _TrackTrace:
    label: str
    boxes: deque  # (ts, box)
    crops: deque  # (ts, box, crop image)
    still: bool = False  # standing still when last seen


class LeftBehindEngine:
    """Static-object observer for one camera (see module docstring); call it once per frame."""

    def __init__(self, *, width: int = 320, static_seconds: float = 4.0, lost_seconds: float = 3.0,
                 reappear_seconds: float = 120.0, person_memory: float = 10.0, vehicle_memory: float = 20.0,
                 attribution_seconds: float = 10.0, crop_interval: float = 2.0, outside_absorb_seconds: float = 60.0,
                 min_small_pixels: int = 10, min_thickness: float = 4.0, shrink_seconds: float = 5.0,
                 confirm_seconds: float = 1.0, max_object_share: float = 0.25, owner_gap: float = 2.0,
                 frame_memory_seconds: float = 60.0, reach: float = 0.35, camera_id: str = "") -> None:
        self.model = StaticForeground(width=width, static_seconds=static_seconds)
        # told of each new object when it is found (seconds after it appeared), e.g. for arrival clips
        self.on_found: Callable[[StaticObject], None] | None = None
        self.lost_seconds = lost_seconds
        self.reappear_seconds = reappear_seconds
        self.person_memory = person_memory
        self.vehicle_memory = vehicle_memory
        self.attribution_seconds = attribution_seconds
        self.crop_interval = crop_interval
        self.outside_absorb_seconds = outside_absorb_seconds
        self.min_small_pixels = min_small_pixels
        self.min_thickness = min_thickness
        self.shrink_seconds = shrink_seconds
        self.confirm_seconds = confirm_seconds
        self.max_object_share = max_object_share
        self.owner_gap = owner_gap  # seconds nobody may be near it for the person by it to count as gone
        self.reach = reach  # a standing person's arm reach, share of their height: within it they are its owner
        self.frames = FrameMemory(frame_memory_seconds)  # for the first-sight picture
        self._seen_now: set[int] = set()
        self.camera_id = camera_id
        self.masks: list[np.ndarray] = []  # camera masks: polygons in fractions of the frame
        self.overlays: list[Box] = []  # overlay text lines found by the engine (frame coords, model px)
        self._masks_sig: tuple | None = None
        self._view: dict = {"state": "steady", "reason": None, "offset_px": [0.0, 0.0], "relearned": 0, "motion_ms": 0.0}
        self.objects: list[StaticObject] = []
        self.gone: list[StaticObject] = []
        self.traces: dict[int, _TrackTrace] = {}
        self._next_id = 1
        self._trim_ts = -math.inf
        self._zones_sig: tuple | None = None
        self._last_image: np.ndarray | None = None

    def set_masks(self, polygons: list[list[tuple[float, float]]]) -> None:
        """Camera masks (polygons in fractions of the frame): nothing inside is analysed."""
        self.masks = [np.asarray(p, np.float32) for p in polygons]
        self._masks_sig = None

    def view_health(self) -> dict:
        """The camera's view for its health record: ``shaking`` (it keeps moving: nothing new is
        raised from it while it does), ``unaligned`` (the frame matches the background nowhere near:
        a big thing in front, or a new view, re-learnt if most of it stays changed) or ``steady``,
        with the offset followed so far (source pixels) and the re-learns. Safe from other threads:
        it is the snapshot taken after the last analysed frame."""
        return self._view

    def _view_state(self) -> dict:
        model, motion = self.model, self.model.motion
        scale = model.scale or 1.0
        offset = [round(float(v) / scale, 1) for v in motion.offset]
        if motion.shaking:
            state, reason = "shaking", "the camera keeps moving (wind, a loose mount): no new left-behind objects while it does"
        elif motion.unaligned_since is not None and (model.last_ts or 0.0) - motion.unaligned_since >= 3.0:
            state, reason = "unaligned", "the view does not match the background: re-learning if it lasts"
        else:
            state, reason = "steady", None
        return {"state": state, "reason": reason, "offset_px": offset, "relearned": model.resets,
                "motion_ms": round(model.motion_ms, 2)}

    # -- public API for reviews -------------------------------------------------------------------
    def absorb(self, box: np.ndarray) -> int:
        """Take whatever stands in ``box`` (full-resolution xyxy) into the background now; objects
        overlapping it are forgotten. Returns how many objects were absorbed."""
        if self.model.size is None:
            return 0
        box = np.asarray(box, np.float32)
        hit = [o for o in self.objects + self.gone if _overlap(o.box, box) > 0.3]
        region = box
        for o in hit:
            region = np.concatenate([np.minimum(region[:2], o.box[:2]), np.maximum(region[2:], o.box[2:])])
        self.model.absorb(self.model.to_small(region), self._last_image)
        self.objects = [o for o in self.objects if o not in hit]
        self.gone = [o for o in self.gone if o not in hit]
        return len(hit)

    def mark_handled(self, key: int) -> bool:
        """A reviewer handled the candidate of object ``key``: absorb it so it is not raised again."""
        for o in self.objects + self.gone:
            if o.key == key:
                return self.absorb(o.box) > 0
        return False

    # -- per frame ----------------------------------------------------------------------------------
    def __call__(self, zones: list[Zone], scene: SceneView) -> dict[str, list[Observation]]:
        zones = [z for z in zones if z.kind in LEFT_BEHIND_KINDS]
        if not zones:
            return {}
        ts, image = scene.ts, scene.image
        self._last_image = image
        persons, vehicles, others = self._split(scene)
        self._remember_tracks(scene)
        still, moving = self._still_people(ts, persons)
        seen_now = {track.id for track, _ in scene.tracks}
        # vehicles hold the clock where they stand, also for a while after the detector last saw
        # them (a parked car missed now and then must not turn into a static object)
        parked = [b for _, b, _ in vehicles] + self._recent(ts, seen_now, self.vehicle_memory, VEHICLE_LABELS, still_only=True)
        freeze = moving + parked
        # a standing person's feet and shadow reach below and beside the detector's box
        decay = [_feet(b) for b in still + self._recent(ts, seen_now, 3.0, PERSON_LABELS, still_only=True)]
        model = self.model
        model.update(ts, image, freeze, decay)
        self.frames.add(ts, image, model.half)  # the model's first halving is the kept size (720p: 640 px)
        self._paint_zones(zones)
        self._paint_masks()
        if model.frame_small is None or ts == model.t0:
            return {}
        blobs = self._blobs()
        self._match(ts, image, blobs, zones)
        standing = [(tid, b) for tid, b in persons if tid in self.traces and self.traces[tid].still]
        people = [(tid, _feet(b)) for tid, b in standing] + [
            (tid, _feet(b)) for tid, b in self._recent(ts, seen_now, self.person_memory, PERSON_LABELS, still_only=True, ids=True)]
        self._seen_now = seen_now
        self._label(ts, people, parked, others)
        self._owners(ts, persons)  # a missed detection or two is bridged by owner_gap
        self._expire(ts, zones)
        self._view = self._view_state()
        return self._observe(ts, zones, scene)

    # -- detections and tracks --------------------------------------------------------------------
    @staticmethod
    def _split(scene: SceneView):
        persons, vehicles, others = [], [], []
        for track, det in scene.tracks:
            label = track.label
            item = (track.id, track.box, float(scene.dets.score[det]))
            if label in PERSON_LABELS:
                persons.append(item[:2])
            elif label in VEHICLE_LABELS:
                vehicles.append(item)
            else:
                others.append((label, track.box, item[2]))
        return persons, vehicles, others

    def _remember_tracks(self, scene: SceneView) -> None:
        ts = scene.ts
        horizon = max(self.attribution_seconds + self.model.static_seconds + self.lost_seconds + 10.0, self.vehicle_memory)
        for track, _ in scene.tracks:
            if track.label not in ATTRIBUTION_LABELS:
                continue
            tr = self.traces.get(track.id)
            if tr is None:
                tr = self.traces[track.id] = _TrackTrace(track.label, deque(), deque())
            tr.label = track.label
            tr.boxes.append((ts, track.box.copy()))
            tr.still = _was_still(tr, ts)
            if not tr.crops or ts - tr.crops[-1][0] >= self.crop_interval:
                tr.crops.append((ts, track.box.copy(), _crop(scene.image, track.box)))
        if ts - self._trim_ts < 2.0:
            return
        self._trim_ts = ts
        for tid in list(self.traces):
            tr = self.traces[tid]
            while tr.boxes and ts - tr.boxes[0][0] > horizon:
                tr.boxes.popleft()
            while tr.crops and ts - tr.crops[0][0] > horizon:
                tr.crops.popleft()
            if not tr.boxes:
                del self.traces[tid]

    def _still_people(self, ts: float, persons: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """People seen now, split into standing still (followed for >= 1 s, anchor moved < 25 % of
        their height over the last ~2 s) and the rest (walking, or too new to tell)."""
        still, moving = [], []
        for tid, box in persons:
            tr = self.traces.get(tid)
            (still if tr is not None and tr.still else moving).append(box)
        return still, moving

    def _recent(self, ts: float, seen_now: set[int], memory: float, labels: frozenset[str],
                still_only: bool = False, ids: bool = False) -> list:
        """Last boxes of tracks of ``labels`` not detected in this frame but seen within ``memory``
        seconds (standing still then, with ``still_only``): detectors miss a standing person or a
        parked car now and then."""
        out = []
        for tid, tr in self.traces.items():
            if tid in seen_now or tr.label not in labels or not tr.boxes or (still_only and not tr.still):
                continue
            t, b = tr.boxes[-1]
            if ts - t <= memory:
                out.append((tid, b) if ids else b)
        return out

    # -- zones ---------------------------------------------------------------------------------------
    def _paint_zones(self, zones: list[Zone]) -> None:
        model = self.model
        w, h = model.small
        sig = (model.small, tuple((z.id, tuple(map(tuple, z.config.polygon)), z.config.sensitivity) for z in zones))
        if sig == self._zones_sig and model.sens_map is not None and model.sens_map.shape == (h, w):
            return
        sens = np.full((h, w), 0.5, np.float32)
        for z in sorted(zones, key=lambda z: z.config.sensitivity):
            cv2.fillPoly(sens, [z.polygon_px(w, h).round().astype(np.int32)], float(z.config.sensitivity))
        model.set_sensitivity(sens)
        self._zones_sig = sig

    def _paint_masks(self) -> None:
        """Camera masks and found overlay lines, at model resolution in frame coordinates."""
        model = self.model
        w, h = model.small
        sig = (model.small, tuple(m.tobytes() for m in self.masks), tuple(self.overlays))
        if sig == self._masks_sig or w == 0:
            return
        self._masks_sig = sig
        if not self.masks and not self.overlays:
            model.mask_frame = None
            return
        m = np.zeros((h, w), np.uint8)
        for poly in self.masks:
            cv2.fillPoly(m, [(poly * np.float32([w, h])).round().astype(np.int32)], 1)
        for x1, y1, x2, y2 in self.overlays:
            m[y1:y2, x1:x2] = 1
        model.mask_frame = m > 0

    def _overlay(self, ts: float, box_s: Box) -> bool:
        """A new static region that is burned-in overlay text (a clock digit): mask its text line."""
        ox, oy = (int(round(v)) for v in self.model.motion.offset)
        x1, y1, x2, y2 = box_s
        line = self.model.flicker.overlay_strip((x1 + ox, y1 + oy, x2 + ox, y2 + oy))
        if line is None:
            return False
        self.overlays.append(line)
        self._paint_masks()
        w, h = self.model.small
        event(log, "overlay_masked", camera=self.camera_id, ts=round(ts, 2),
              polygon=[list(p) for p in box_polygon(line, (w, h))])
        return True

    # -- static regions -> objects -------------------------------------------------------------------
    def _blobs(self) -> list[tuple[Box, np.ndarray, float]]:
        """Connected static regions (box, mask, area in model pixels); pieces that lie close together
        and appeared within a few seconds of each other are one object (a pile, a bag and its
        spill), and so are pieces that touch (a toppled or pushed object)."""
        model = self.model
        static = model.static.view(np.uint8)
        if not static.any():
            return []
        H, W = static.shape
        rx, ry, rw, rh = cv2.boundingRect(static)  # work only where static pixels are
        ox, oy = max(0, rx - 3), max(0, ry - 3)
        roi = static[oy:min(H, ry + rh + 3), ox:min(W, rx + rw + 3)]
        closed = cv2.morphologyEx(roi, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        parts = []
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            mask = labels[y:y + h, x:x + w] == i
            x, y = x + ox, y + oy
            x2, y2 = x + w, y + h
            when = float(np.median(model.since[y:y2, x:x2][mask]))  # relative seconds: only compared
            parts.append([[x, y, x2, y2], [((x, y, x2, y2), mask)], float(area), when])
        merged = True
        while merged and len(parts) > 1:
            merged = False
            for a in range(len(parts)):
                for b in range(a + 1, len(parts)):
                    pa, pb = parts[a], parts[b]
                    ba, bb = pa[0], pb[0]
                    gap = max(ba[0] - bb[2], bb[0] - ba[2], ba[1] - bb[3], bb[1] - ba[3])
                    reach = max(3.0, 0.5 * min(max(ba[2] - ba[0], ba[3] - ba[1]), max(bb[2] - bb[0], bb[3] - bb[1])))
                    # close and of one time, or touching whatever their times (an object that toppled or
                    # was pushed: the moved part is newer than the rest, but it is one thing)
                    if (gap <= reach and abs(pa[3] - pb[3]) <= 5.0) or gap <= 1:
                        pa[0] = [min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3])]
                        pa[1] += pb[1]
                        pa[3] = (pa[3] * pa[2] + pb[3] * pb[2]) / (pa[2] + pb[2])
                        pa[2] += pb[2]
                        del parts[b]
                        merged = True
                        break
                if merged:
                    break
        out = []
        for box, pieces, area, _ in parts:
            mask = np.zeros(static.shape, bool)
            for (x1, y1, x2, y2), m in pieces:
                mask[y1:y2, x1:x2] |= m
            out.append((tuple(box), mask, area))
        return out

    def _match(self, ts: float, image: np.ndarray, blobs: list, zones: list[Zone]) -> None:
        model = self.model
        area_scale = 1.0 / (model.scale * model.scale)
        static_area = float(model.static.size)
        matched: set[int] = set()
        for box_s, mask, area in blobs:
            box = model.to_full(box_s)
            obj = self._find(box, self.objects, matched)
            if obj is not None:
                matched.add(obj.id)
                obj.last_seen, obj.present = ts, True
                full_area = area * area_scale
                if full_area >= 0.5 * obj.area_px:
                    obj.box, obj.small, obj.area_px = box, box_s, max(obj.area_px, full_area)
                    obj.shrunk_since = math.inf
                elif ts - obj.shrunk_since >= self.shrink_seconds:  # part of it was taken away
                    obj.box, obj.small, obj.area_px = box, box_s, full_area
                    obj.shrunk_since = math.inf
                else:  # half of it hidden or fading out: keep its box until that has lasted a while
                    obj.shrunk_since = min(obj.shrunk_since, ts)
                continue
            x1, y1, x2, y2 = box_s
            if area < self.min_small_pixels or not self._solid(mask[y1:y2, x1:x2]):
                # specks and thin lines (tape, wires, shadow edges) are no objects; once they have
                # held still as long as the clock counts, they become background
                held = model.acc[mask & model.static]
                if held.size and float(np.median(held)) >= model.static_seconds + model.hold_seconds - 0.01:
                    model.absorb_mask(mask, box_s)
                continue
            too_big = (x2 - x1) * (y2 - y1) > self.max_object_share * static_area
            if too_big or self._not_a_thing(mask, box_s) or self._overlay(ts, box_s):
                model.absorb(box_s, image)  # a ghost, light, or half the view: no object
                continue
            revived = self._find(box, self.gone, set())
            if revived is not None:
                self.gone.remove(revived)
                obj = revived
                obj.box, obj.small, obj.last_seen, obj.area_px, obj.present = box, box_s, ts, area * area_scale, True
            else:
                obj = StaticObject(self._next_id, box, box_s, model.appeared(mask), ts, ts, area * area_scale)
                self._next_id += 1
                obj.owner_until = self._owner_history(obj)
                self._first_sight(obj)  # now, while the frames of its appearance are still kept exactly
                if self.on_found is not None:
                    self.on_found(obj)
                obj.attribution, obj.attribution_crops = self._attribute(obj)
            self.objects.append(obj)
            matched.add(obj.id)
        for obj in list(self.objects):
            if obj.id in matched:
                continue
            obj.present = False
            if ts - obj.last_seen > self.lost_seconds:
                self.objects.remove(obj)
                self.gone.append(obj)
        self.gone = [o for o in self.gone if ts - o.last_seen <= self.reappear_seconds]
        protect = np.zeros(model.static.shape, bool)
        for obj in self.objects:
            x1, y1, x2, y2 = obj.small
            protect[y1:y2, x1:x2] = True
        model.protect = protect

    @staticmethod
    def _find(box: np.ndarray, pool: list[StaticObject], taken: set[int]) -> StaticObject | None:
        best, best_score = None, 0.3
        for o in pool:
            if o.id in taken:
                continue
            score = max(float(box_iou(box[None], o.box[None])[0, 0]), 0.8 * _overlap(box, o.box))
            if score >= best_score:
                best, best_score = o, score
        return best

    def _solid(self, mask: np.ndarray) -> bool:
        """At least ``min_thickness`` model pixels thick somewhere: not a line (tape, wire, shadow edge);
        or a small compact blob (a bottle, a bag ~20 px at 720p: square-ish, mostly filled, 4+ px a side)."""
        roi = np.pad(mask.astype(np.uint8), 1)
        if float(cv2.distanceTransform(roi, cv2.DIST_L2, 3).max()) >= self.min_thickness / 2:
            return True
        h, w = mask.shape
        return min(h, w) >= 4 and max(h, w) <= 2 * min(h, w) and float(mask.mean()) >= 0.6

    def _not_a_thing(self, mask: np.ndarray, box: Box) -> bool:
        """A ghost (something of the background went away: its outline is in the background, not
        in the frame) or a change of light (shade or light patch: smooth ratio, ground texture kept)."""
        e_cur, e_bg = self.model.edge_energy(mask, box)
        if e_bg > 1.2 * e_cur + 2.0:
            return True
        hollow, ripple, ncc, _ = self.model.lighting_stats(mask, box)
        # light scales the ground smoothly (low ripple) and keeps its texture (ncc), or changes only a
        # patch's rim (hollow), or brings no outline of its own (a thing's edge is sharp against the ground)
        return ripple < 0.03 and (ncc > 0.45 or hollow > 0.5 or e_cur < 2.0 * e_bg + 4.0)

    def _attribute(self, obj: StaticObject) -> tuple[list[dict], list[EvidenceImage]]:
        """Tracks that were at the object's place from the seconds before it appeared until it was
        established (whoever set it down and stood by it), nearest to its appearance first."""
        size = max(float(obj.box[2] - obj.box[0]), float(obj.box[3] - obj.box[1]))
        reach = np.array([-1, -1, 1, 1], np.float32) * 0.5 * size
        place = obj.box + reach
        lo, hi = obj.appeared - self.attribution_seconds, obj.born
        found: list[tuple[float, int, _TrackTrace, float]] = []
        for tid, tr in self.traces.items():
            best_t, best_gap = None, math.inf
            for t, b in tr.boxes:
                if lo <= t <= hi and _intersects(b, place):
                    gap = abs(t - obj.appeared)
                    if gap < best_gap:
                        best_t, best_gap = t, gap
            if best_t is not None:
                found.append((best_gap, tid, tr, best_t))
        found.sort(key=lambda f: f[0])
        info, crops = [], []
        for _, tid, tr, t in found[:4]:
            info.append({"track": int(tid), "label": tr.label, "ts": round(float(t), 2)})
            if tr.crops:
                ct, cbox, crop = min(tr.crops, key=lambda c: abs(c[0] - t))
                crops.append(EvidenceImage("attribution", crop, ct, None, note=f"{tr.label} (track {tid}) at {ct:.1f}s"))
        return info, crops

    # -- labels, suppression, expiry -----------------------------------------------------------------
    def _label(self, ts: float, people: list[tuple[int, np.ndarray]], vehicles: list[np.ndarray], others: list) -> None:
        for obj in self.objects:
            if not obj.present:
                continue
            obj.hits += 1
            for tid, b in people:
                if _covered(obj.box, b):
                    obj.person_ts, obj.person_tid = ts, tid
                    break
            for b in vehicles:
                if _covered(obj.box, b, 0.4):
                    obj.vehicle_ts = ts
                    obj.vehicle_hits += 1
                    break
            best, best_iou = None, 0.2
            for label, b, score in others:
                iou = max(float(box_iou(obj.box[None], b[None])[0, 0]), _covered(obj.box, b, 0.6) * 0.5)
                if iou >= best_iou:
                    best, best_iou = (label, score), iou
            if best is not None:
                obj.votes[best[0]] = obj.votes.get(best[0], 0.0) + best[1]

    def _owners(self, ts: float, persons: list[tuple[int, np.ndarray]]) -> None:
        """Extend each object's owner time while its owner (a person near it when it appeared) stays
        near it without a break; a later passer-by does not count. A new track that starts near it
        just as the owner's ends is the owner found again by the tracker."""
        for obj in self.objects:
            if ts - obj.owner_until > self.owner_gap:
                continue  # the owner left: the dwell runs
            place = _near(obj.box)
            for tid, b in persons:
                tr = self.traces.get(tid)
                if not self._within_reach(b, obj.box, place, tr is not None and tr.still):
                    continue
                fresh = tr is not None and tr.boxes and tr.boxes[0][0] >= obj.owner_until - 1.0
                if tid in obj.owners or fresh:
                    obj.owners.add(tid)
                    obj.owner_until = ts

    def _owner_history(self, obj: StaticObject) -> float:
        """When its owner (whoever was near it when it appeared) was last near it without a break,
        from the track history (the object is only found seconds after it appeared)."""
        place = _near(obj.box)
        until = -math.inf
        for tid, tr in self.traces.items():
            if tr.label not in PERSON_LABELS:
                continue
            times = [t for t, b in tr.boxes if t >= obj.appeared - self.owner_gap
                     and self._within_reach(b, obj.box, place, _was_still(tr, t))]
            if not times or times[0] > obj.appeared + self.owner_gap:
                continue  # not there when it appeared: a passer-by
            last = times[0]
            for t in times[1:]:
                if t - last > self.owner_gap:
                    break
                last = t
            obj.owners.add(tid)
            until = max(until, last)
        return until

    def _within_reach(self, person: np.ndarray, obj_box: np.ndarray, place: np.ndarray, still: bool) -> bool:
        """Whether a person (box) is near enough to the object to have made it: within half its
        size (they set it down), or, standing still, within arm's reach of it (``reach`` of their
        height sideways): a hand resting on a desk or an arm reaching out is foreground only while
        they are there, and beside a thin arm the hand is a region of its own, away from their box."""
        if _intersects(person, place):
            return True
        return still and _intersects(_reach(person, self.reach), obj_box)

    def started(self, obj: StaticObject) -> float:
        """When its dwell starts: at its appearance, or when the person who set it down walked off."""
        return max(obj.appeared, obj.owner_until)

    def _suppressed(self, obj: StaticObject, ts: float) -> str | None:
        # covered by someone standing there now, or by someone the detector misses now (not seen
        # elsewhere: they may still stand there); a person seen walking off suppresses no longer
        if ts - obj.person_ts <= 1.0 or (obj.person_tid not in self._seen_now and ts - obj.person_ts <= self.person_memory):
            return "person"
        if ts - obj.owner_until <= self.owner_gap:
            return "owner"  # whoever set it down still stands by it: its dwell has not started
        if ts - obj.vehicle_ts <= self.vehicle_memory or obj.vehicle_hits >= 0.5 * max(obj.hits, 1):
            return "vehicle"
        return None

    def zones_of(self, obj: StaticObject, zones: list[Zone]) -> list[Zone]:
        """The zones the object stands in (by its foot point or its centre)."""
        return self._zones_of(obj, zones)

    def _zones_of(self, obj: StaticObject, zones: list[Zone]) -> list[Zone]:
        w, h = self.model.size or (1, 1)
        anchor = np.array([[(obj.box[0] + obj.box[2]) / 2, obj.box[3]], [(obj.box[0] + obj.box[2]) / 2,
                                                                          (obj.box[1] + obj.box[3]) / 2]], np.float32)
        return [z for z in zones if bool(z.contains(anchor, w, h).any())]

    def _expire(self, ts: float, zones: list[Zone]) -> None:
        for obj in list(self.objects):
            inside = self._zones_of(obj, zones)
            limit = max((z.config.max_age_seconds for z in inside), default=self.outside_absorb_seconds)
            if ts - obj.appeared > limit:
                self.absorb(obj.box)

    # -- observations -------------------------------------------------------------------------------
    def _observe(self, ts: float, zones: list[Zone], scene: SceneView) -> dict[str, list[Observation]]:
        out: dict[str, list[Observation]] = {}
        w, h = scene.width, scene.height
        for obj in self.objects:
            if not obj.present or self._suppressed(obj, ts):
                obj.clear_since = math.inf
                continue
            obj.clear_since = min(obj.clear_since, ts)
            if ts - obj.clear_since < self.confirm_seconds:
                continue  # seen clear of people and vehicles for a moment before it counts
            for zone in self._zones_of(obj, zones):
                if not _big_enough(obj, zone, w, h):
                    continue
                if not obj.evidence:
                    obj.evidence = self._evidence(obj, scene)
                label = obj.label
                score = obj.votes.get(label, 0.0) / max(obj.hits, 1) if label != "unknown" else 0.5
                start = self.started(obj)
                attributes = {
                    "source": "static_object", "object": obj.key, "appeared": round(obj.appeared, 2),
                    "attribution": list(obj.attribution), "evidence": list(obj.evidence),
                }
                sight = self._first_sight(obj)
                if sight is not None:
                    attributes["first_sight"] = (obj.appeared, *sight)
                if obj.owner_until > obj.appeared:
                    attributes["owner_left"] = round(obj.owner_until, 2)
                out.setdefault(zone.id, []).append(Observation(obj.key, obj.box.copy(), label, float(min(max(score, 0.3), 1.0)),
                                                               attributes=attributes, started=start))
        return out

    def _first_sight(self, obj: StaticObject) -> tuple[float, np.ndarray] | None:
        """The kept frame of the moment it appeared (looked up once per appearance time)."""
        if obj.first_frame_for != obj.appeared:
            obj.first_frame, obj.first_frame_for = self.frames.at(obj.appeared), obj.appeared
        return obj.first_frame

    def _evidence(self, obj: StaticObject, scene: SceneView) -> list[EvidenceImage]:
        model = self.model
        ev = []
        bg_full = model.background_full()
        if bg_full is not None:
            ev.append(EvidenceImage("before", bg_full.copy(), obj.appeared, obj.box.copy(), note="background before it appeared"))
        ev.append(EvidenceImage("after", scene.image.copy(), scene.ts, obj.box.copy(), note="after it appeared"))
        return ev + list(obj.attribution_crops)


def _was_still(tr: _TrackTrace, t_last: float, span: float = 2.5, min_span: float = 1.0) -> bool:
    """Whether a track stood still over the ~2 s up to ``t_last`` (followed at least ``min_span`` s)."""
    last = None
    first_t, first_b = None, None
    for t, b in reversed(tr.boxes):
        if t > t_last + 1e-6:
            continue
        if t_last - t > span:
            break
        if last is None:
            last = b
        first_t, first_b = t, b
    if last is None or first_t is None or t_last - first_t < min_span:
        return False
    height = max(float(last[3] - last[1]), 1.0)
    return math.hypot((last[0] + last[2] - first_b[0] - first_b[2]) / 2, float(last[3] - first_b[3])) < 0.25 * height


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the smaller box."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / max(small, 1e-6))


def _covered(obj: np.ndarray, other: np.ndarray, share: float = 0.5) -> bool:
    """At least ``share`` of the object's box lies inside ``other``."""
    iw = min(obj[2], other[2]) - max(obj[0], other[0])
    ih = min(obj[3], other[3]) - max(obj[1], other[1])
    if iw <= 0 or ih <= 0:
        return False
    area = max(float((obj[2] - obj[0]) * (obj[3] - obj[1])), 1e-6)
    return float(iw * ih) / area >= share


def _feet(box: np.ndarray) -> np.ndarray:
    """A standing person's box widened to their feet and shadow (detectors box the body tightly)."""
    w, h = float(box[2] - box[0]), float(box[3] - box[1])
    return np.array([box[0] - 0.1 * w, box[1], box[2] + 0.1 * w, box[3] + 0.1 * h], np.float32)


def _reach(box: np.ndarray, reach: float) -> np.ndarray:
    """Where a standing person's hands get to: ``reach`` of their height either side, a tenth below."""
    h = float(box[3] - box[1])
    return box + np.array([-reach * h, 0.0, reach * h, 0.1 * h], np.float32)


def _near(box: np.ndarray) -> np.ndarray:
    """The object's place widened by half its size: where whoever set it down stands."""
    size = max(float(box[2] - box[0]), float(box[3] - box[1]))
    return box + np.array([-1, -1, 1, 1], np.float32) * 0.5 * size


def _intersects(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))


def _big_enough(obj: StaticObject, zone: Zone, width: int, height: int) -> bool:
    cfg = zone.config
    box_area = float((obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1]))
    need = cfg.min_object_area * width * height
    if cfg.min_object_pixels is not None:
        need = max(need, float(cfg.min_object_pixels))
    if cfg.min_object_zone_fraction > 0:
        zb = zone.polygon_px(width, height)
        zone_area = 0.5 * abs(float(np.dot(zb[:, 0], np.roll(zb[:, 1], 1)) - np.dot(zb[:, 1], np.roll(zb[:, 0], 1))))
        need = max(need, cfg.min_object_zone_fraction * zone_area)
    return box_area >= need


def _crop(image: np.ndarray, box: np.ndarray, margin: float = 0.15, max_side: int = 192) -> np.ndarray:
    h, w = image.shape[:2]
    bw, bh = float(box[2] - box[0]), float(box[3] - box[1])
    x1, y1 = int(max(0, box[0] - margin * bw)), int(max(0, box[1] - margin * bh))
    x2, y2 = int(min(w, box[2] + margin * bw)), int(min(h, box[3] + margin * bh))
    crop = image[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    side = max(crop.shape[:2])
    if side > max_side:
        f = max_side / side
        return cv2.resize(crop, (max(1, int(crop.shape[1] * f)), max(1, int(crop.shape[0] * f))), interpolation=cv2.INTER_LINEAR)
    return crop.copy()
