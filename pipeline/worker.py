"""The worker: drives every camera's frames through one shared model session per model and hands
candidate events to the store. Frames of several cameras are batched into one model call.

One process runs many cameras: each camera decodes in its own thread into a small queue (live
cameras drop their oldest frame rather than fall behind), and this loop takes frames round-robin
across cameras into batches. Model calls run on a small pool (``parallel_calls``, one per core by
default, each single-threaded): on CPUs that beats one multi-threaded call, and this thread tracks
and stores the previous batch meanwhile; results are consumed strictly in the order the batches
were taken, so every camera's engine sees its frames in order. With ``gating`` a frame whose
camera's zones did not change skips the model and carries the camera's last detections forward
(pipeline/motion_gate.py). Cameras and zones changed in the database are picked up while it
runs, and so are models promoted, rolled back or shadowed in the model registry, a camera's `model`
and its extra models alike (swapped between frames); a failing camera, model call or database
write is logged and retried, never fatal, except in ``once`` (batch) mode where errors surface to
the caller.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from concurrent.futures import Future, ThreadPoolExecutor, wait

import cv2
import numpy as np
from sqlalchemy import select

from streetwarden.camera_adapters import Frame
from streetwarden.detectors import CameraEngine
from streetwarden.models import Detections, OnnxDetector
from streetwarden.models.store import require_model
from streetwarden.pipeline.camera_runner import CameraRunner
from streetwarden.camera_adapters.clips import CLIP_NONE, NO_VIDEO
from streetwarden.camera_adapters.decode_pool import DecodePool
from streetwarden.pipeline.clip_recorder import ClipRecorder, note_missing
from streetwarden.pipeline.first_sight import FirstSightClips, TakenClip
from streetwarden.pipeline.evidence_grabber import EvidenceGrabber, GrabRequest
from streetwarden.pipeline.extra_models import Sources, empty, join, raiser
from streetwarden.pipeline.health import HealthRegistry
from streetwarden.pipeline.heap import freeze_startup_objects, release_startup_objects
from streetwarden.pipeline.leases import LeaseKeeper, estimated_cost
from streetwarden.pipeline.model_switch import Choice, Switchboard
from streetwarden.pipeline.recheck import LiveBoard, RecheckService
from streetwarden.pipeline.store_thread import StoreThread
from streetwarden.store.camera_settings import load_camera_configs, sync_camera_settings
from streetwarden.store.cameras import load_masks, load_zones, sync_cameras
from streetwarden.store.candidates import CandidateWriter
from streetwarden.store.db import Database
from streetwarden.store.model_registry.shadow import ShadowWriter
from streetwarden.store.review import Decision
from streetwarden.store.schema import Camera, Candidate
from streetwarden.store.shops import sync_shops
from streetwarden.config import CameraConfig, Settings
from streetwarden.logs import event
from streetwarden.redact import mask_all

log = logging.getLogger("streetwarden.worker")

# Fields whose change needs the camera's stream reopened (name/address/zones do not).
_RESTART_EXCLUDE = {"name", "zones", "masks", "address", "latitude", "longitude"}  # reloaded in place
MAX_PENDING_EVENTS = 10_000


def build_detectors(settings: Settings, keys: set[str]) -> dict[str, OnnxDetector]:
    out = {}
    for key in sorted(keys):
        m = settings.models[key]
        out[key] = OnnxDetector(require_model(m.path, settings), family=m.family, score_threshold=m.score_threshold,
                                nms_iou=m.nms_iou, threads=m.threads, max_batch=m.max_batch,
                                frames_per_call=m.frames_per_call, rect=m.rect, providers=m.providers,
                                fallback_to_cpu=m.fallback_to_cpu, name=key)
    return out


def parallel_calls(settings: Settings, keys: set[str]) -> int:
    """Model calls a worker keeps in flight: the config's, or one per core divided by each call's threads."""
    cores = os.cpu_count() or 1
    calls = 1
    for key in keys:
        m = settings.models[key]
        calls = max(calls, m.parallel_calls or max(1, cores // (m.threads or cores)))
    return calls


def _signature(cam: CameraConfig) -> dict:
    return cam.model_dump(mode="json", exclude=_RESTART_EXCLUDE)


@dataclass
class ShadowRun:
    """A shadow model on one camera: its own rules engine, fed the shadow's detections of the same frames
    in place of those of the model it shadows (the camera's model, or the extra model `extra`)."""

    choice: Choice
    engine: CameraEngine
    last_dets: Detections | None = None  # carried over frames the motion gate skipped
    extra: str | None = None  # the key of the extra model it stands in for; None: the camera's model


def _tag(choice: Choice, e):  # type: ignore[no-untyped-def]
    """The event says which model it came from (kept on the candidate: a court and a reviewer ask)."""
    return replace(e, attributes={**e.attributes, "model": choice.label, "model_sha256": choice.sha256})


def undecoded_evidence(events: list, frame: Frame) -> None:
    """Evidence of a frame that was not decoded shows the camera's last decoded picture: it is
    stamped with that picture's capture time, never the later frame's (a court reads the time)."""
    if frame.picture_ts is None:
        return
    for e in events:
        for ev in e.evidence:
            if ev.ts == frame.ts:  # this frame's picture (or a copy of it)
                ev.ts = frame.picture_ts
                ev.note = ev.note or "last decoded picture; the stream showed no motion since"


def _finished(runner: CameraRunner) -> list:
    """The events the camera's engine closes when it stops, credited as a frame's closing events are
    (a garbage pile still open at the stop belongs to the garbage model, not to the camera's)."""
    sources = runner.last_sources
    none = empty(list(sources.labels)) if sources is not None else Detections.empty(())
    return [_tag(raiser(e, none, sources, runner.model), e) for e in runner.engine.finish()]


def _tagged(key: str, detector: OnnxDetector) -> Callable:
    """Pre-processing that says which model it was done for (a swap may happen while frames wait)."""
    return lambda image: (key, detector.prepare(image))


def oldest_first(ready: list[CameraRunner], max_batch: int) -> list[tuple[CameraRunner, Frame]]:
    """Pop up to max_batch live frames, the earliest captured first, across all cameras' queues
    (a camera's own frames stay in order; ties keep the given camera order)."""
    heads = [(r.queue[0].ts, k, r) for k, r in enumerate(ready)]
    heapq.heapify(heads)
    batch: list[tuple[CameraRunner, Frame]] = []
    while heads and len(batch) < max_batch:
        _, k, r = heapq.heappop(heads)
        batch.append((r, r.queue.popleft()))
        if r.queue:
            heapq.heappush(heads, (r.queue[0].ts, k, r))
    return batch


def round_robin(order: list[CameraRunner], max_batch: int) -> tuple[list[tuple[CameraRunner, Frame]], int]:
    """Pop up to max_batch frames, one per camera per pass over `order`; also the position in
    `order` of the last camera served."""
    batch: list[tuple[CameraRunner, Frame]] = []
    last = -1
    progressed = True
    while len(batch) < max_batch and progressed:
        progressed = False
        for i, r in enumerate(order):
            if r.queue and len(batch) < max_batch:
                batch.append((r, r.queue.popleft()))
                progressed, last = True, i
    return batch, last


class Worker:
    """Runs the enabled cameras of a configuration until stopped (or, with once=True, until every
    file source has ended)."""

    def __init__(self, settings: Settings, db: Database, once: bool = False, reload_seconds: float = 2.0,
                 camera_ids: list[str] | None = None, health_window: float = 10.0,
                 leases: LeaseKeeper | None = None) -> None:
        # Parallelism comes from camera threads and the model pool; OpenCV's own pool would only add
        # hand-offs between the same cores for each small resize (measured: ~10 % of pipeline CPU).
        cv2.setNumThreads(1)
        self.settings = settings
        self.db = db
        self.once = once
        self.reload_seconds = reload_seconds
        self.camera_ids = camera_ids
        self.stop_event = threading.Event()
        self.wake = threading.Condition()
        self.writer = CandidateWriter(settings.storage_path, settings.dedupe.window_seconds, settings.dedupe.min_iou)
        self.stats = {"frames": 0, "batches": 0, "events": 0, "created": 0, "errors": 0}
        self.on_batch: Callable[[int], None] | None = None
        self.health = HealthRegistry(health_window)
        self.lags: deque[float] = deque(maxlen=100_000)  # capture → analysed, live frames (benchmarks)
        self.runners: list[CameraRunner] = []
        self._rr = 0  # where the next batch starts, so no camera starves when the model is the limit
        self._pending: list = []  # events a failed write left; owned by the store thread while it runs
        self._store_thread: StoreThread | None = None  # live runs: candidate writes off the analysis loop
        self._started_at = time.time()
        self._absorbed: set[int] = set()  # rejected candidates already handed to their left-behind engine
        self._fenced_engines: dict[str, tuple[CameraEngine, dict, float]] = {}  # camera -> (engine, signature, when)
        self._grabber: EvidenceGrabber | None = None
        self.clips = ClipRecorder(db, settings.storage_path) if settings.clips.enabled else None
        # live RTSP cameras: provisional clips of first sights, taken as `clip_first` by their candidates
        self.first_sights = FirstSightClips(self.clips, settings.storage_path, settings.clips) if self.clips else None
        self.detectors: dict[str, OnnxDetector] = {}
        # keyframe-only RTSP cameras: their key frames decode here, their own threads only receive
        threads = settings.decoding.pool_threads()
        self.decode_pool = DecodePool(threads) if threads > 0 else None
        self.switchboard = Switchboard(settings, db)  # the model registry: active and shadow versions
        self.shadow_writer = ShadowWriter()
        # notices: each camera's latest analysed frame, for re-checks at a notice's deadline
        self.board = LiveBoard()
        # many nodes: only the cameras this node holds a lease on are run, re-checked and written
        self.leases = leases
        self._leases_changed = False
        self.recheck = RecheckService(db, settings, self.board, owns=leases.holds if leases else None)
        self.recheck.on_checked = lambda cid, cam, ts: self._clip(cid, cam, "clip_recheck", ts)
        self.plates = None
        if settings.plates.enabled:
            from streetwarden.pipeline.plate_reader import PlateReader

            self.plates = PlateReader(settings.plates)
        with db.session() as s:
            sync_cameras(s, settings)
            sync_shops(s, settings)
            sync_camera_settings(s, settings)
            runnable = self._wanted(s, all_runnable=True)
        self.switchboard.poll()
        # every model a camera of this node may get, loaded before any lease is taken
        self.detectors = build_detectors(settings, {k for c in runnable.values() for k in c.model_keys if k in settings.models})
        if leases is not None:
            leases.cameras = self._lease_costs
            leases.on_lost = self._fence
            leases.on_change = self._leases_moved
            leases.report = self._worst_lag
            try:
                leases.round()  # the first share of cameras, before any is opened
            except Exception as err:  # e.g. a lock wait while many nodes start together: the heartbeat retries
                event(log, "heartbeat_failed", logging.WARNING, node=leases.node.id, error=mask_all(str(err))[:300])
            leases.start()
        with db.session() as s:
            for cam in self._wanted(s).values():
                self._add_runner(s, cam)

    # ------------------------------------------------------------------ cameras
    def _wanted(self, s, all_runnable: bool = False) -> dict[str, CameraConfig]:  # type: ignore[no-untyped-def]
        """Cameras to run: the file's (batch mode), or the database's view of them (live); with
        leases, those this node holds (all_runnable: those it could hold)."""
        if self.once:
            cams = {c.id: c for c in self.settings.cameras}
        else:
            cams = load_camera_configs(s, self.settings)
        cams = {k: c for k, c in cams.items() if c.enabled and (self.camera_ids is None or k in self.camera_ids)}
        if self.leases is not None and not all_runnable:
            owned = self.leases.owned()
            cams = {k: c for k, c in cams.items() if k in owned}
        return cams

    # ------------------------------------------------------------------ leases (many nodes)
    def _lease_costs(self, s) -> dict[str, float]:  # type: ignore[no-untyped-def]
        """Cameras this node could run, with their estimated stream cost (called by the lease keeper)."""
        cams = load_camera_configs(s, self.settings)
        return {k: self.leases.measured.get(k) or estimated_cost(c.analysis_fps, c.stream_cost, None)  # type: ignore[union-attr]
                for k, c in cams.items() if c.enabled and (self.camera_ids is None or k in self.camera_ids)}

    def _fence(self, camera_ids: list[str]) -> None:
        """The lease is gone (or going): stop the cameras now, from any thread; nothing more of theirs
        is written (store() drops their events) and the next reload removes them."""
        ids = set(camera_ids)
        with self.wake:
            runners = [r for r in self.runners if r.cam.id in ids]
        for r in runners:
            r.fenced = True
            r.stop()
        self._leases_changed = True
        with self.wake:
            self.wake.notify_all()

    def _leases_moved(self) -> None:
        self._leases_changed = True
        with self.wake:
            self.wake.notify_all()

    def _worst_lag(self) -> float | None:
        lags = [r.health.lag_seconds for r in list(self.runners) if r.health.lag_seconds is not None]
        return max(lags) if lags else None

    def _add_runner(self, s, cam: CameraConfig, engine=None) -> CameraRunner:  # type: ignore[no-untyped-def]
        version, zones = load_zones(s, cam.id)
        for key in cam.model_keys:
            self._ensure_detector(key)
        if engine is not None:
            engine.set_zones(zones)  # an engine carried over keeps its state but takes the zones as they are now
        runner = CameraRunner(self.settings, cam, zones, self.wake, engine=engine, decode_pool=self.decode_pool)
        self._watch_first_sights(runner)
        runner.zones_version = version
        runner.zone_configs = zones
        runner.model = self.switchboard.config_choice(cam.model)
        runner.shadows = {}
        # extra models: as configured until _assign gives the registry's; their boxes join the model's
        runner.extra_keys = tuple(k for k in cam.extra_models if k in self.settings.models)
        runner.extras = tuple(self.switchboard.config_choice(k) for k in runner.extra_keys)
        runner.last_sources = None  # where the boxes of last_dets came from
        missing = [k for k in cam.model_keys if k not in self.settings.models]
        if missing:
            field = "model" if missing[0] == cam.model else "extra_models"
            runner.config_error = f"camera '{cam.id}': {field} '{missing[0]}' is not in `models`"
        self._assign(runner)
        with self.wake:
            self.runners.append(runner)
        self.health.register(runner.record)
        self.board.register(cam.id, runner.health)
        return runner

    def _watch_first_sights(self, runner: CameraRunner) -> None:
        """An RTSP camera's dwell starts ask for provisional arrival clips from its ring (its engine calls
        this from the analysis loop; the cut itself happens on the clip thread)."""
        sights = self.first_sights
        if sights is None or runner.ring is None:
            return
        cam_id = runner.cam.id

        def on_sight(zone, moment: float, new: bool) -> None:  # type: ignore[no-untyped-def]
            if not new:
                sights.gone(cam_id, zone.id, moment)
            elif runner.cutter is not None:
                sights.sighted(cam_id, zone.id, moment, zone.config.dwell, runner.cutter)

        runner.engine.on_sight = on_sight

    def _remove_runner(self, runner: CameraRunner) -> None:
        runner.stop()
        with self.wake:
            self.runners.remove(runner)
            runner.queue.clear()
        self.board.unregister(runner.cam.id)
        if runner.fenced:
            # its lease ended here (ran out, or handed over): nothing of it may be written now. If this
            # node gets the camera back within a lease time (a slow heartbeat, a balance that swung back)
            # it goes on with the same engine: background, dwell timers and open incidents intact,
            # instead of starting its view over; the database dedupe covers what another owner raised
            self._fenced_engines[runner.cam.id] = (runner.engine, _signature(runner.cam), time.monotonic())
            for sid in list(runner.shadows):
                self._stop_shadow(runner, sid, "camera stopped")
            return
        final = _finished(runner)
        if final:
            self.store(final)
        for sid in list(runner.shadows):
            self._stop_shadow(runner, sid, "camera stopped")

    def _engine_back(self, cam: CameraConfig):  # type: ignore[no-untyped-def]
        """The engine this node ran the camera with before a fence, if it is recent and the camera unchanged."""
        kept = self._fenced_engines.pop(cam.id, None)
        if kept is None or self.leases is None:
            return None
        engine, signature, at = kept
        if signature != _signature(cam) or time.monotonic() - at > self.leases.lease:
            return None  # too long away (another node may have run it and moved on) or reconfigured
        return engine

    def _ensure_detector(self, key: str) -> None:
        if key not in self.detectors and key in self.settings.models:
            self.detectors.update(build_detectors(self.settings, {key}))

    # ------------------------------------------------------------------ models (registry)
    def _detector_for(self, choice: Choice, model_key: str) -> OnnxDetector:
        if choice.key not in self.detectors:
            self.detectors[choice.key] = self.switchboard.build(choice, model_key)
        return self.detectors[choice.key]

    def _pick(self, cam: CameraConfig, key: str, old: Choice, main: bool) -> tuple[Choice, OnnxDetector | None, list[Choice]]:
        """The registry's choice for the camera's configured model `key` (main: its `model`, else an extra
        model), its detector and the shadows beside it; on a failed load the old choice is kept."""
        active, shadows = self.switchboard.choices(cam.id, key, main)
        slot = {} if main else {"slot": key}
        try:
            detector = self.detectors[active.key] if active.version_id is None else self._detector_for(active, key)
        except Exception as err:  # e.g. the file is not in this node's model store: keep what runs
            event(log, "model_switch_failed", logging.ERROR, camera=cam.id, model=active.label, keeps=old.label,
                  error=mask_all(str(err))[:300], **slot)
            active, detector = old, self.detectors.get(old.key)
        if old.key != active.key:
            event(log, "model_switched", camera=cam.id, model=active.label, previous=old.label, sha256=active.sha256,
                  **slot)
        return active, detector, shadows

    def _assign(self, runner: CameraRunner) -> None:
        """Give the camera the models (and shadows) the registry says; called between frames only."""
        cam = runner.cam
        if cam.model not in self.settings.models:
            return
        active, detector, shadows = self._pick(cam, cam.model, runner.model, True)
        runner.model = active
        runner.prepare = _tagged(active.key, detector) if detector is not None else None
        wanted: dict[int | None, tuple[Choice, str | None]] = {c.version_id: (c, None) for c in shadows}
        extras = []
        for key, old in zip(runner.extra_keys, runner.extras):
            choice, _, more = self._pick(cam, key, old, False)
            extras.append(choice)
            wanted.update({c.version_id: (c, key) for c in more})
        runner.extras = tuple(extras)
        for sid in [k for k in runner.shadows if k not in wanted]:
            self._stop_shadow(runner, sid, "shadow ended")
        for sid, (choice, extra) in wanted.items():
            if sid in runner.shadows:
                continue
            try:
                self._detector_for(choice, extra or cam.model)
            except Exception as err:
                event(log, "shadow_failed", logging.ERROR, camera=cam.id, model=choice.label, error=mask_all(str(err))[:300])
                continue
            engine = CameraEngine(cam.id, runner.zone_configs, live=runner.live, tracker=self.settings.tracker,
                                  dedupe=self.settings.dedupe, masks=cam.masks)
            runner.shadows[sid] = ShadowRun(choice, engine, extra=extra)
            beside = next((c.label for k, c in zip(runner.extra_keys, runner.extras) if k == extra), active.label)
            event(log, "shadow_started", camera=cam.id, model=choice.label, beside=beside)

    def _stop_shadow(self, runner: CameraRunner, sid: int, reason: str) -> None:
        run = runner.shadows.pop(sid)
        self._store_shadow([(sid, e) for e in run.engine.finish()])
        event(log, "shadow_stopped", camera=runner.cam.id, model=run.choice.label, reason=reason)

    def _reload_models(self, drain: Callable[[], None] | None) -> None:
        """Poll the registry; on a change, finish the frames in the model, then swap."""
        if not self.switchboard.poll():
            return
        if drain is not None:
            drain()  # frames already in a model are finished by the model they were sent to
        for r in list(self.runners):
            self._assign(r)
        used = ({r.model.key for r in self.runners} | {c.key for r in self.runners for c in r.extras}
                | {run.choice.key for r in self.runners for run in r.shadows.values()})
        for key in [k for k in self.detectors if k not in self.settings.models and k not in used]:
            del self.detectors[key]  # a retired version's session: nothing of it is in flight (drained above)

    def _reload_cameras(self) -> None:
        """Start, stop or reopen cameras whose rows in the database changed."""
        if self.leases is not None:  # engines of fenced cameras that did not come back are let go
            old = [c for c, (_, _, at) in self._fenced_engines.items() if time.monotonic() - at > self.leases.lease]
            for c in old:
                del self._fenced_engines[c]
        with self.db.session() as s:
            wanted = self._wanted(s)
            for runner in list(self.runners):
                cam = wanted.get(runner.cam.id)
                if cam is None:
                    self._remove_runner(runner)
                    self.health.unregister(runner.cam.id)
                    event(log, "camera_stopped", camera=runner.cam.id,
                          reason="lease released" if runner.fenced else "disabled or removed")
                elif _signature(cam) != _signature(runner.cam):
                    same_view = cam.source == runner.cam.source
                    self._remove_runner(runner)
                    new = self._add_runner(s, cam.model_copy(update={"zones": runner.cam.zones}),
                                           engine=runner.engine if same_view else None)
                    new.start()
                    event(log, "camera_restarted", camera=cam.id, reason="settings changed")
                else:
                    runner.record.name = cam.name
            running = {r.cam.id for r in self.runners}
            for cam_id, cam in wanted.items():
                if cam_id not in running:
                    engine = self._engine_back(cam)
                    self._add_runner(s, cam, engine=engine).start()
                    event(log, "camera_started", camera=cam_id, resumed=engine is not None)

    def _absorb_rejected(self) -> None:
        """Left-behind objects a reviewer rejected (a fixture, a planter, not dumping) are learnt into
        their camera's background, so the class-agnostic engine stops raising and tracking them."""
        engines = {r.cam.id: r.engine.left_behind for r in self.runners if r.engine.left_behind is not None}
        if not engines:
            return
        with self.db.session() as s:  # decisions are indexed by time: only the ones since this worker started
            rows = s.execute(select(Candidate.id, Candidate.camera_id, Candidate.box, Candidate.attributes)
                             .join(Decision, Decision.candidate_id == Candidate.id)
                             .where(Decision.decision == "reject", Decision.decided_at >= self._started_at,
                                    Candidate.camera_id.in_(sorted(engines)))).all()
        for cid, cam, box, attrs in rows:
            if cid in self._absorbed:
                continue
            self._absorbed.add(cid)
            attrs = attrs or {}
            if attrs.get("source") != "static_object" or cam not in engines:
                continue
            engine = engines[cam]
            done = engine.mark_handled(int(attrs.get("object", -1))) or engine.absorb(np.asarray(box, np.float32)) > 0
            event(log, "left_behind_absorbed", camera=cam, candidate=cid, absorbed=bool(done))

    def _reload_zones(self) -> None:
        with self.db.session() as s:
            versions = {cam_id: v for cam_id, v in s.execute(select(Camera.id, Camera.zones_version)).all()}
            for r in self.runners:
                version = versions.get(r.cam.id, 0) or 0
                if version != r.zones_version:
                    r.zones_version, zones = load_zones(s, r.cam.id)
                    masks = load_masks(s, r.cam.id)
                    r.zone_configs = zones
                    r.engine.set_zones(zones)
                    r.engine.set_masks(masks)
                    if r.gate is not None:
                        r.gate.set_zones(zones, masks)
                    if r.stream_bytes is not None:
                        r.stream_bytes.reset()  # what the bytes meant was learned for the old zones
                    for run in r.shadows.values():
                        run.engine.set_zones(zones)
                        run.engine.set_masks(masks)
                    event(log, "zones_reloaded", camera=r.cam.id, version=version, zones=len(zones), masks=len(masks))

    def open_all(self) -> None:
        """Open every source now (batch use): raises the first SourceError so the CLI can report it."""
        for r in self.runners:
            r.open()

    # ------------------------------------------------------------------ frames
    @property
    def max_batch(self) -> int:
        return max((self.settings.models[k].max_batch for k in self.detectors if k in self.settings.models), default=1)

    def _collect(self, max_batch: int, timeout: float,
                 until: Callable[[], bool] | None = None) -> list[tuple[CameraRunner, Frame]]:
        """Take up to max_batch queued frames; waits up to timeout, or until `until()`.

        Live frames go oldest capture first: near a full machine more frames wait than one batch
        takes, and serving by camera order let a frame that just missed its turn wait a whole round
        (the tail of the lag). File frames (times from each file's start) go round-robin, one frame
        per camera per pass."""
        with self.wake:
            deadline = time.monotonic() + timeout
            while True:
                n = len(self.runners)
                start = self._rr % n if n else 0
                order = self.runners[start:] + self.runners[:start]
                ready = [r for r in order if r.queue]
                if ready and all(r.live for r in ready):
                    batch = oldest_first(ready, max_batch)
                else:
                    batch, last = round_robin(order, max_batch)
                    if batch:
                        self._rr = start + last + 1  # next batch starts after the last camera served
                if batch:
                    self.wake.notify_all()  # readers waiting for room
                    return batch
                if self.stop_event.is_set() or (self.once and all(r.ended for r in self.runners)):
                    return []
                if until is not None and until():
                    return []
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.wake.wait(left)

    def skip_unchanged(self, batch: list[tuple[CameraRunner, Frame]]) -> None:
        """Mark the frames whose camera saw no change (this thread, in frame order, before the model)."""
        for r, f in batch:
            if not f.decoded:  # the reader's bytes test already found nothing moved (pipeline/stream_bytes.py)
                f.run_model = False
                if r.gate is not None:
                    r.gate.carry()
                r.record.decode_skips += 1
            elif r.gate is not None:
                f.run_model = r.gate.decide(f.ts, f.motion)
                if r.stream_bytes is not None:
                    r.stream_bytes.learn(f.stream_bytes, r.gate.last_change)
            if f.run_model:
                r.record.model_runs += 1
            else:
                r.record.model_skips += 1

    def infer(self, batch: list[tuple[CameraRunner, Frame]]
              ) -> tuple[list[Detections | None], list[dict[int, Detections]], list[Choice], list[dict[str, Detections]]]:
        """Model calls for a batch (thread-safe: runs on the model pool): one Detections per frame (None
        where the gate skipped the model), each frame's shadow models' Detections, the model each
        frame went through, and each frame's extra models' Detections (by model key); every model's
        frames of all cameras go in one call."""
        used = [r.model for r, _ in batch]
        by_model: dict[str, list[int]] = {}
        for i, choice in enumerate(used):
            if batch[i][1].run_model:
                by_model.setdefault(choice.key, []).append(i)
        shadow_jobs: dict[str, list[tuple[int, int]]] = {}
        extra_jobs: dict[str, list[int]] = {}
        for i, (r, f) in enumerate(batch):
            if not f.run_model:
                continue  # a skipped frame skips its shadows too: they carry their last detections
            for sid, run in list(r.shadows.items()):
                shadow_jobs.setdefault(run.choice.key, []).append((i, sid))
            for choice in r.extras:
                extra_jobs.setdefault(choice.key, []).append(i)
        out: list[Detections | None] = [None] * len(batch)
        for key, idx in by_model.items():
            for i, d in zip(idx, self._detect(key, [batch[i][1] for i in idx])):
                out[i] = d
        shadow: list[dict[int, Detections]] = [{} for _ in batch]
        for key, jobs in shadow_jobs.items():
            for (i, sid), d in zip(jobs, self._detect(key, [batch[i][1] for i, _ in jobs])):
                shadow[i][sid] = d
        extra: list[dict[str, Detections]] = [{} for _ in batch]
        for key, idx in extra_jobs.items():
            for i, d in zip(idx, self._detect(key, [batch[i][1] for i in idx])):
                extra[i][key] = d
        return out, shadow, used, extra

    def _detect(self, key: str, frames: list[Frame]) -> list[Detections]:
        det = self.detectors[key]
        return det.detect_prepared([f.prepared[1] if f.prepared is not None and f.prepared[0] == key
                                    else det.prepare(f.image) for f in frames])

    def consume(self, batch: list[tuple[CameraRunner, Frame]], dets: list[Detections | None],
                shadow: list[dict[int, Detections]] | None = None, used: list[Choice] | None = None,
                extra: list[dict[str, Detections]] | None = None) -> None:
        """Track, apply the rules and store, for a batch whose model results are in (this thread only).
        A camera's extra models' boxes join its model's (and its shadows') before tracking."""
        events = []
        shadow_events: list[tuple[int, object]] = []
        now = time.time()
        for k, ((r, f), d) in enumerate(zip(batch, dets)):
            if r not in self.runners or r.fenced:
                continue  # camera stopped (or its lease lost) while its frame was in the model
            got_extra = extra[k] if extra else {}
            own_dets = d  # the camera's model's alone (None: skipped)
            if d is None:  # skipped by the gate: the picture is unchanged, so are the detections
                d = r.last_dets if r.last_dets is not None else self._empty(r)
            else:
                d, r.last_sources = self._join(r, d, got_extra)
                r.last_dets = d
            if self.leases is not None and r.cam.id not in self.leases.measured:
                self.leases.measured[r.cam.id] = estimated_cost(r.cam.analysis_fps, r.cam.stream_cost, f.width * f.height)
            r.health.frames_processed += 1
            r.health.last_analysed_at = now if f.live else f.ts
            if f.live:
                r.health.lag_seconds = now - f.ts
                self.lags.append(now - f.ts)
            self.board.record(r.cam.id, f.ts, f.image, d)
            own = used[k] if used else r.model
            raised = r.engine.process(f.ts, f.image, d)
            if not f.decoded:
                undecoded_evidence(raised, f)
            events.extend(_tag(raiser(e, d, r.last_sources, own), e) for e in raised)
            got = shadow[k] if shadow else {}
            for sid, run in list(r.shadows.items()):
                sd = got.get(sid)
                if sd is not None:  # the shadow stands in for the model it shadows, beside the others
                    run.last_dets = (self._join(r, sd, got_extra)[0] if run.extra is None or own_dets is None
                                     else self._join(r, own_dets, got_extra, (run.extra, run.choice, sd))[0])
                elif f.run_model or run.last_dets is None:
                    continue  # the shadow started after this frame went to the model
                shadow_events.extend((sid, e) for e in run.engine.process(f.ts, f.image, run.last_dets))
        self.stats["frames"] += len(batch)
        self.stats["batches"] += 1
        if self.on_batch:
            self.on_batch(len(batch))
        if events:
            self._submit(self.store, events)
        if shadow_events:
            self._submit(self._store_shadow, shadow_events)

    def _submit(self, fn: Callable[[list], None], items: list) -> None:
        """Write on the store thread (live runs), or here and now (once mode, where errors surface)."""
        if self._store_thread is not None:
            self._store_thread.submit(fn, items)
        else:
            fn(items)

    def _retry_pending(self) -> bool:
        """The store thread's retry of events a failed write kept; True when none are left."""
        if self._pending:
            self.store([])
        return not self._pending

    def _store_shadow(self, items: list) -> None:
        """A shadow's would-be candidates: recorded apart, never queued (a failed write is logged, not retried)."""
        if not items:
            return
        try:
            with self.db.session() as s:
                for sid, e in items:
                    row, created = self.shadow_writer.apply(s, sid, e)
                    if created:
                        event(log, "shadow_candidate", camera=e.camera_id, zone=e.zone_id, violation=e.violation,
                              shadow=row.id, label=e.label, score=round(float(e.score), 3))
        except Exception as err:
            if self.once:
                raise
            event(log, "shadow_write_failed", logging.WARNING, events=len(items), error=mask_all(str(err))[:300])

    def process(self, batch: list[tuple[CameraRunner, Frame]]) -> None:
        """Gate, model, then engine and store, for one batch in this thread."""
        self.skip_unchanged(batch)
        self.consume(batch, *self.infer(batch))

    def _empty(self, r: CameraRunner) -> Detections:
        """No detections, labelled as the camera's running models label them."""
        dets = [self.detectors.get(c.key) for c in (r.model, *r.extras)]
        return empty([d.labels if d is not None else Detections.empty().labels for d in dets])

    def _join(self, r: CameraRunner, d: Detections, got: dict[str, Detections],
              stand_in: tuple[str, Choice, Detections] | None = None) -> tuple[Detections, Sources | None]:
        """The frame's detections of the camera's model with those of its extra models; stand_in: (an
        extra model's key, a shadow, its detections) in place of that extra model's."""
        if not r.extras:
            return d, None
        parts = [(stand_in[1], stand_in[2]) if stand_in is not None and key == stand_in[0] else (c, got.get(c.key))
                 for key, c in zip(r.extra_keys, r.extras)]
        parts = [(c, x) for c, x in parts if x is not None]
        return join(d, [x for _, x in parts], tuple(c for c, _ in parts), self.settings.models[r.cam.model].nms_iou)

    def _poke(self, _: Future) -> None:
        with self.wake:
            self.wake.notify_all()

    # ------------------------------------------------------------------ store
    def store(self, events: list) -> None:
        """Write events; if the database fails (live mode), keep them and retry later."""
        events = self._pending + events
        self._pending = []
        if self.leases is not None:  # a camera whose lease is gone writes nothing, not even buffered events
            kept = [e for e in events if self.leases.holds(e.camera_id)]
            if len(kept) < len(events):
                event(log, "events_dropped", logging.WARNING, events=len(events) - len(kept), reason="lease not held")
            events = kept
        try:
            self._store(events)
        except Exception:
            if self.once:
                raise
            self._pending = events[-MAX_PENDING_EVENTS:]
            raise

    def _store(self, events: list) -> None:
        grabs = []
        # plate OCR runs before the transaction opens (it takes most of a second per vehicle)
        plates = [self.plates.read(e) for e in events] if self.plates is not None else [None] * len(events)
        with self.db.session() as s:
            for e, plate in zip(events, plates):
                row, created = self.writer.apply(s, e)
                if self.plates is not None:
                    self.plates.apply(row, plate)
                self.stats["events"] += 1
                self.stats["created"] += int(created)
                event(log, f"candidate_{'opened' if created else e.kind}", camera=e.camera_id, zone=e.zone_id,
                      violation=e.violation, candidate=row.id, label=e.label, score=round(e.score, 3))
                if created:
                    grabs.append((row.id, e))
                    if self.clips is not None and self._cutter(e.camera_id) is None:
                        row.attributes = {**(row.attributes or {}), "clip": {"status": CLIP_NONE, "reason": NO_VIDEO}}
        for cid, e in grabs:
            self._grab_main(cid, e)
            self._clip(cid, e.camera_id, "clip", e.last_seen)
            self._clip_first(cid, e)

    def _runner(self, camera_id: str) -> CameraRunner | None:
        """The camera's runner (read from the store thread too: a copy of the list, never the list)."""
        return next((r for r in list(self.runners) if r.cam.id == camera_id), None)

    def _clip_first(self, candidate_id: int, e) -> None:  # type: ignore[no-untyped-def]
        """The arrival clip: the provisional one of a ring camera, or cut from a file at first_seen."""
        runner = self._runner(e.camera_id)
        if self.clips is None or runner is None or runner.cutter is None:
            return
        if runner.ring is None:
            self._clip(candidate_id, e.camera_id, "clip_first", e.first_seen)
            return
        entry = self.first_sights.take(e.camera_id, e.zone_id, e.first_seen) if self.first_sights else None
        if entry is None:
            note_missing(self.db, candidate_id, "clip_first", CLIP_NONE,
                         "no video of the first sight was kept (it was before the worker started or the camera "
                         "connected, or more first sights came since than clips.first_sight_max_clips)")
            return
        cfg = self.settings.clips
        self.clips.request(candidate_id, e.camera_id, "clip_first", e.first_seen, cfg.before_seconds,
                           cfg.after_seconds, TakenClip(entry), True)

    def _cutter(self, camera_id: str):  # type: ignore[no-untyped-def]
        runner = self._runner(camera_id)
        return runner.cutter if runner is not None else None

    def _clip(self, candidate_id: int, camera_id: str, kind: str, moment: float) -> None:
        """Ask for the clip around `moment` (raised, re-checked); written later by the clip thread."""
        runner = self._runner(camera_id)
        if self.clips is None or runner is None or runner.cutter is None:
            return
        cfg = self.settings.clips
        self.clips.request(candidate_id, camera_id, kind, moment, cfg.before_seconds, cfg.after_seconds,
                           runner.cutter, runner.live)

    def _grab_main(self, candidate_id: int, e) -> None:  # type: ignore[no-untyped-def]
        runner = self._runner(e.camera_id)
        if runner is None or not runner.cam.evidence_source or runner.options is None:
            return
        if self._grabber is None:
            self._grabber = EvidenceGrabber(self.db, self.settings.storage_path)
        self._grabber.request(GrabRequest(candidate_id, e.camera_id, runner.cam.evidence_source, runner.options,
                                          e.box, e.frame_size, e.last_seen))

    # ------------------------------------------------------------------ loop
    def _housekeeping(self, now: float, last: dict[str, float], drain: Callable[[], None] | None = None) -> None:
        if self._leases_changed and not self.once:
            self._leases_changed = False
            self._reload_cameras()
        if now - last["tick"] >= 1.0:
            last["tick"] = now
            self.health.tick()
            if self._pending and self._store_thread is None:
                self.store([])
        if now - last.get("recheck", 0.0) >= self.settings.notices.check_every_seconds:
            last["recheck"] = now
            self.recheck.run_due()
        if now - last["reload"] >= self.reload_seconds:
            last["reload"] = now
            self._reload_zones()
            self._reload_models(drain)
            self._absorb_rejected()
            if not self.once:
                self._reload_cameras()

    def run(self) -> dict[str, int]:
        if not self.once:
            self._store_thread = StoreThread(self._retry_pending)
            frozen = freeze_startup_objects()  # full GC passes skip them (pipeline/heap.py)
            event(log, "worker_heap_frozen", objects=frozen)
        for r in self.runners:
            r.start()
        last = {"tick": 0.0, "reload": time.monotonic()}
        inflight: deque[tuple[list[tuple[CameraRunner, Frame]], Future]] = deque()
        parallel = parallel_calls(self.settings, {k for k in self.detectors if k in self.settings.models})
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sw-model")

        def head_done() -> bool:
            return bool(inflight) and inflight[0][1].done()

        def drain() -> None:
            while inflight:
                done, future = inflight.popleft()
                self.consume(done, *future.result())

        try:
            while not self.stop_event.is_set():
                try:
                    batch = []
                    if sum(not f.done() for _, f in inflight) < parallel + 1:  # one batch waiting: no idle core between calls
                        batch = self._collect(self.max_batch, timeout=0.5, until=head_done)
                    if batch:
                        self.skip_unchanged(batch)
                        future = pool.submit(self.infer, batch)
                        future.add_done_callback(self._poke)
                        inflight.append((batch, future))
                    elif inflight and not head_done():
                        wait([inflight[0][1]], timeout=0.5)
                    while head_done():
                        done, future = inflight.popleft()
                        self.consume(done, *future.result())
                    if (not batch and not inflight and self.once
                            and all(r.ended and not r.queue for r in self.runners)):
                        break  # live service: runs on with no cameras, they may be added in the database
                    self._housekeeping(time.monotonic(), last, drain)
                except Exception as err:  # live service: log, breathe, go on
                    if self.once:
                        raise
                    self.stats["errors"] += 1
                    event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                          pending_events=len(self._pending))  # read from this thread: a hint, not a count
                    self.stop_event.wait(1.0)
        finally:
            for r in self.runners:
                r.stop()
            while inflight:  # frames already in the model are finished, not dropped
                done, future = inflight.popleft()
                try:
                    self.consume(done, *future.result())
                except Exception as err:
                    event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                          lost_frames=len(done))
            pool.shutdown(wait=True)
            if self.decode_pool is not None:
                self.decode_pool.close()  # the key frames queued when the cameras stopped are dropped
            final = [e for r in self.runners for e in _finished(r)]
            shadow_final = [(sid, e) for r in self.runners for sid, run in r.shadows.items()
                            for e in run.engine.finish()]
            if self._store_thread is not None:  # everything raised so far is written before the worker stops
                self._store_thread.submit(self._store_shadow, shadow_final)
                if final:
                    self._store_thread.submit(self.store, final)
                self._store_thread.close()
                self._store_thread = None
                if self._pending:
                    event(log, "worker_error", logging.ERROR, error="the database refused the last writes",
                          lost_events=len(self._pending))
            else:
                self._store_shadow(shadow_final)
                if final or self._pending:
                    self.store(final)
            self.health.tick()
            if self._grabber is not None:
                self._grabber.close()
            try:  # a notice due now is judged on the last frames, not left waiting
                self.recheck.run_due()
            except Exception as err:  # never hide why the worker stopped
                event(log, "recheck_failed", logging.ERROR, error=mask_all(str(err)))
            if self.clips is not None:  # after the last re-check, which may ask for a clip
                self.clips.close()  # pending live clips are cut from the video that has arrived
            for r in self.runners:
                if r.ring is not None:
                    r.ring.reset(None)  # the streams are gone and their clips written: free the packets
            if self.first_sights is not None:
                self.first_sights.clear()
            if not self.once:
                release_startup_objects()
        return self.stats

    def stop(self) -> None:
        self.stop_event.set()
        with self.wake:
            self.wake.notify_all()
