"""Per-camera detection engine: detections -> tracks -> zones -> dwell -> candidate events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from streetwarden.detectors.dwell import Dwell, DwellTimers
from streetwarden.detectors.events import CandidateEvent, EvidenceImage
from streetwarden.detectors.incidents import IncidentBook
from streetwarden.detectors.left_behind import LEFT_BEHIND_KINDS, LeftBehindEngine
from streetwarden.detectors.rules import RULES, Observation, SceneView
from streetwarden.detectors.tracker import IouTracker
from streetwarden.detectors.zones import Zone, points_in_polygon
from streetwarden.models.detections import Detections
from streetwarden.config import DedupeConfig, TrackerConfig, ZoneConfig

# Extra observers (e.g. the left-behind object engine) return observations per zone for a scene.
Observer = Callable[[list[Zone], SceneView], dict[str, list[Observation]]]
# First-sight listener (the worker's provisional arrival clips): (zone, first-sight time, True: new / False: gone)
SightListener = Callable[[Zone, float, bool], None]


class CameraEngine:
    """Everything one camera needs between the model and the store; not thread-safe (one per camera)."""

    def __init__(self, camera_id: str, zones: Iterable[ZoneConfig], *, live: bool,
                 tracker: TrackerConfig | None = None, dedupe: DedupeConfig | None = None,
                 masks: Iterable[Sequence[tuple[float, float]]] = ()) -> None:
        tracker = tracker or TrackerConfig()
        dedupe = dedupe or DedupeConfig()
        self.camera_id = camera_id
        self.tracker = IouTracker(tracker.iou_match, tracker.high_score, tracker.lost_seconds, tracker.new_track_score)
        self.timers = DwellTimers(lost_seconds=tracker.lost_seconds)
        self.book = IncidentBook(camera_id, live, dedupe.window_seconds, dedupe.min_iou)
        self.observers: list[Observer] = []
        self.left_behind: LeftBehindEngine | None = None
        self.on_sight: SightListener | None = None
        self.zones: list[Zone] = []
        self.masks: list[np.ndarray] = []
        self.set_zones(zones)
        self.set_masks(masks)

    def set_masks(self, masks: Iterable[Sequence[tuple[float, float]]]) -> None:
        """Camera masks (polygons in frame fractions): not analysed, nothing anchored inside raises."""
        self.masks = [np.asarray(m, np.float32) for m in masks]
        if self.left_behind is not None:
            self.left_behind.set_masks([m.tolist() for m in self.masks])

    def set_zones(self, zones: Iterable[ZoneConfig]) -> None:
        """Swap the zone set (live edits from the UI); timers of removed zones lapse on their own."""
        self.zones = [Zone(z) for z in zones]
        wants = any(z.kind in LEFT_BEHIND_KINDS for z in self.zones)
        if wants and self.left_behind is None:
            # no_dumping / shopfront zones are watched for class-agnostic left-behind objects too
            self.left_behind = LeftBehindEngine(camera_id=self.camera_id)
            self.left_behind.on_found = self._object_found
            self.left_behind.set_masks([m.tolist() for m in self.masks])
            self.observers.append(self.left_behind)
        elif not wants and self.left_behind is not None:
            self.observers.remove(self.left_behind)
            self.left_behind = None

    def process(self, ts: float, image: np.ndarray, dets: Detections) -> list[CandidateEvent]:
        """Advance by one analysed frame; returns the events to store."""
        seen = self.tracker.update(dets, ts)
        scene = SceneView(ts, image, dets, seen)
        extra: dict[str, list[Observation]] = {}
        for observer in self.observers:
            for zone_id, obs in observer(self.zones, scene).items():
                extra.setdefault(zone_id, []).extend(obs)
        events: list[CandidateEvent] = []
        present: set[tuple[str, int]] = set()
        for zone in self.zones:
            rule = RULES[zone.kind]
            for obs in rule.observe(zone, scene) + extra.get(zone.id, []):
                if self.masks and self._masked(obs.box, scene):
                    continue  # anchored in a camera mask (overlay text, a screen): never raised
                present.add((zone.id, obs.key))
                dwell = self.timers.observe(zone.id, obs.key, obs.box, ts, image, zone.config.max_displacement, obs.companion)
                # a left-behind object: (appeared, ts, frame) of its first sight, kept by its engine
                sight = obs.attributes.pop("first_sight", None)
                if obs.started is not None and obs.started < dwell.start_ts:
                    # its dwell runs from its appearance, or from when its owner walked off
                    dwell.start_ts = obs.started
                first_seen, first_ts, first_frame = dwell.start_ts, None, dwell.first_frame
                if sight is not None:
                    first_seen, first_ts, first_frame = sight
                if dwell.sighted != first_seen:
                    self._sighted(zone, dwell, first_seen)
                if not rule.qualifies(zone, dwell, ts):
                    continue
                evidence: list[EvidenceImage] = obs.attributes.pop("evidence", [])
                event = self.book.report(
                    zone_id=zone.id, violation=rule.violation, label=obs.label, score=obs.score, box=obs.box,
                    first_seen=first_seen, ts=ts, frame=image, first_frame=first_frame,
                    first_box=dwell.first_box, first_ts=first_ts, extra=evidence, attributes=obs.attributes,
                )
                if event is not None:
                    events.append(event)
        for gone in self.timers.sweep(ts, present):
            if gone.sighted is not None and self.on_sight is not None:
                zone = next((z for z in self.zones if z.id == gone.zone_id), None)
                if zone is not None:
                    self.on_sight(zone, gone.sighted, False)
        events.extend(self.book.sweep(ts))
        return events

    def _object_found(self, obj) -> None:  # type: ignore[no-untyped-def]
        """A left object was just found, seconds after it appeared; its dwell may start much later (its
        owner stands by). Its appearance is told now, while a live camera's packet ring still holds it."""
        if self.on_sight is None or self.left_behind is None:
            return
        for zone in self.left_behind.zones_of(obj, [z for z in self.zones if z.kind in LEFT_BEHIND_KINDS]):
            self.on_sight(zone, obj.appeared, True)

    def _sighted(self, zone: Zone, dwell: Dwell, first_seen: float) -> None:
        """Tell the listener a dwell's first sight (new, or moved on a restart of its clock)."""
        old, dwell.sighted = dwell.sighted, first_seen
        if self.on_sight is None:
            return
        if old is not None:
            self.on_sight(zone, old, False)
        self.on_sight(zone, first_seen, True)

    def _masked(self, box: np.ndarray, scene: SceneView) -> bool:
        w, h = scene.image.shape[1], scene.image.shape[0]
        anchor = np.array([[(box[0] + box[2]) / 2 / w, box[3] / h]], np.float32)
        return any(bool(points_in_polygon(anchor, m)[0]) for m in self.masks)

    def view_health(self) -> dict | None:
        """How steady the camera's view is (measured by the left-behind engine; None without one)."""
        return self.left_behind.view_health() if self.left_behind is not None else None

    def finish(self) -> list[CandidateEvent]:
        """The source ended: close what is open so the store has final times."""
        return self.book.flush()
