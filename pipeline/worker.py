"""The worker: drives every camera's frames through one shared model session per model and hands
candidate events to the store. Frames of several cameras are batched into one model call.

One process runs many cameras: each camera decodes in its own thread into a small queue (live
cameras drop their oldest frame rather than fall behind), and this loop takes frames round-robin
across cameras into batches. Model calls run on a small pool (``parallel_calls``, one per core by
default, each single-threaded): on CPUs that beats one multi-threaded call, and this thread tracks
and stores the previous batch meanwhile; results are consumed strictly in the order the batches
were taken, so every camera's engine sees its frames in order. Cameras and zones changed in the database are picked up while it
runs; a failing camera, model call or database write is logged and retried, never fatal, except
in ``once`` (batch) mode where errors surface to the caller.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import cv2
import numpy as np
from sqlalchemy import select

from streetwarden.camera_adapters import Frame
from streetwarden.models import Detections, OnnxDetector
from streetwarden.models.store import require_model
from streetwarden.pipeline.camera_runner import CameraRunner
from streetwarden.pipeline.evidence_grabber import EvidenceGrabber, GrabRequest
from streetwarden.pipeline.health import HealthRegistry
from streetwarden.pipeline.leases import LeaseKeeper, estimated_cost
from streetwarden.pipeline.recheck import LiveBoard, RecheckService
from streetwarden.store.camera_settings import load_camera_configs, sync_camera_settings
from streetwarden.store.cameras import load_masks, load_zones, sync_cameras
from streetwarden.store.candidates import CandidateWriter
from streetwarden.store.db import Database
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
                                nms_iou=m.nms_iou, threads=m.threads, max_batch=m.max_batch, rect=m.rect)
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
        self._pending: list = []
        self._started_at = time.time()
        self._absorbed: set[int] = set()  # rejected candidates already handed to their left-behind engine
        self._grabber: EvidenceGrabber | None = None
        self.detectors: dict[str, OnnxDetector] = {}
        # notices: each camera's latest analysed frame, for re-checks at a notice's deadline
        self.board = LiveBoard()
        # many nodes: only the cameras this node holds a lease on are run, re-checked and written
        self.leases = leases
        self._leases_changed = False
        self.recheck = RecheckService(db, settings, self.board, owns=leases.holds if leases else None)
        self.plates = None
        if settings.plates.enabled:
            from streetwarden.pipeline.plate_reader import PlateReader

            self.plates = PlateReader(settings.plates)
        with db.session() as s:
            sync_cameras(s, settings)
            sync_shops(s, settings)
            sync_camera_settings(s, settings)
            runnable = self._wanted(s, all_runnable=True)
        # every model a camera of this node may get, loaded before any lease is taken
        self.detectors = build_detectors(settings, {c.model for c in runnable.values() if c.model in settings.models})
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
        self._ensure_detector(cam.model)
        detector = self.detectors.get(cam.model)
        runner = CameraRunner(self.settings, cam, zones, self.wake, engine=engine,
                              prepare=detector.prepare if detector else None)
        runner.zones_version = version
        if cam.model not in self.settings.models:
            runner.config_error = f"camera '{cam.id}': model '{cam.model}' is not in `models`"
        with self.wake:
            self.runners.append(runner)
        self.health.register(runner.record)
        self.board.register(cam.id, runner.health)
        return runner

    def _remove_runner(self, runner: CameraRunner) -> None:
        runner.stop()
        with self.wake:
            self.runners.remove(runner)
            runner.queue.clear()
        self.board.unregister(runner.cam.id)
        final = runner.engine.finish()
        if final:
            self.store(final)

    def _ensure_detector(self, key: str) -> None:
        if key not in self.detectors and key in self.settings.models:
            self.detectors.update(build_detectors(self.settings, {key}))

    def _reload_cameras(self) -> None:
        """Start, stop or reopen cameras whose rows in the database changed."""
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
                    self._add_runner(s, cam).start()
                    event(log, "camera_started", camera=cam_id)

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
                    r.engine.set_zones(zones)
                    r.engine.set_masks(masks)
                    event(log, "zones_reloaded", camera=r.cam.id, version=version, zones=len(zones), masks=len(masks))

    def open_all(self) -> None:
        """Open every source now (batch use): raises the first SourceError so the CLI can report it."""
        for r in self.runners:
            r.open()

    # ------------------------------------------------------------------ frames
    @property
    def max_batch(self) -> int:
        return max((self.settings.models[k].max_batch for k in self.detectors), default=1)

    def _collect(self, max_batch: int, timeout: float,
                 until: Callable[[], bool] | None = None) -> list[tuple[CameraRunner, Frame]]:
        """Take up to max_batch queued frames round-robin; waits up to timeout, or until `until()`."""
        with self.wake:
            deadline = time.monotonic() + timeout
            while True:
                batch: list[tuple[CameraRunner, Frame]] = []
                progressed = True
                n = len(self.runners)
                start = self._rr % n if n else 0
                order = self.runners[start:] + self.runners[:start]
                while len(batch) < max_batch and progressed:
                    progressed = False
                    for i, r in enumerate(order):  # round-robin: one frame per camera per pass
                        if r.queue and len(batch) < max_batch:
                            batch.append((r, r.queue.popleft()))
                            progressed = True
                            self._rr = start + i + 1  # next batch starts after the last camera served
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

    def infer(self, batch: list[tuple[CameraRunner, Frame]]) -> list[Detections]:
        """Model calls for a batch (thread-safe: runs on the model pool); one Detections per frame."""
        by_model: dict[str, list[int]] = {}
        for i, (r, _) in enumerate(batch):
            by_model.setdefault(r.cam.model, []).append(i)
        out: list[Detections | None] = [None] * len(batch)
        for key, idx in by_model.items():
            det = self.detectors[key]
            frames = [batch[i][1] for i in idx]
            dets = det.detect_prepared([f.prepared if f.prepared is not None else det.prepare(f.image) for f in frames])
            for i, d in zip(idx, dets):
                out[i] = d
        return out  # type: ignore[return-value]

    def consume(self, batch: list[tuple[CameraRunner, Frame]], dets: list[Detections]) -> None:
        """Track, apply the rules and store, for a batch whose model results are in (this thread only)."""
        events = []
        now = time.time()
        for (r, f), d in zip(batch, dets):
            if r not in self.runners or r.fenced:
                continue  # camera stopped (or its lease lost) while its frame was in the model
            if self.leases is not None and r.cam.id not in self.leases.measured:
                self.leases.measured[r.cam.id] = estimated_cost(r.cam.analysis_fps, r.cam.stream_cost, f.width * f.height)
            r.health.frames_processed += 1
            r.health.last_analysed_at = now if f.live else f.ts
            if f.live:
                r.health.lag_seconds = now - f.ts
                self.lags.append(now - f.ts)
            self.board.record(r.cam.id, f.ts, f.image, d)
            events.extend(r.engine.process(f.ts, f.image, d))
        self.stats["frames"] += len(batch)
        self.stats["batches"] += 1
        if self.on_batch:
            self.on_batch(len(batch))
        if events:
            self.store(events)

    def process(self, batch: list[tuple[CameraRunner, Frame]]) -> None:
        """Model, then engine and store, for one batch in this thread."""
        self.consume(batch, self.infer(batch))

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
        for cid, e in grabs:
            self._grab_main(cid, e)

    def _grab_main(self, candidate_id: int, e) -> None:  # type: ignore[no-untyped-def]
        runner = next((r for r in self.runners if r.cam.id == e.camera_id), None)
        if runner is None or not runner.cam.evidence_source or runner.options is None:
            return
        if self._grabber is None:
            self._grabber = EvidenceGrabber(self.db, self.settings.storage_path)
        self._grabber.request(GrabRequest(candidate_id, e.camera_id, runner.cam.evidence_source, runner.options,
                                          e.box, e.frame_size, e.last_seen))

    # ------------------------------------------------------------------ loop
    def _housekeeping(self, now: float, last: dict[str, float]) -> None:
        if self._leases_changed and not self.once:
            self._leases_changed = False
            self._reload_cameras()
        if now - last["tick"] >= 1.0:
            last["tick"] = now
            self.health.tick()
            if self._pending:
                self.store([])
        if now - last.get("recheck", 0.0) >= self.settings.notices.check_every_seconds:
            last["recheck"] = now
            self.recheck.run_due()
        if now - last["reload"] >= self.reload_seconds:
            last["reload"] = now
            self._reload_zones()
            self._absorb_rejected()
            if not self.once:
                self._reload_cameras()

    def run(self) -> dict[str, int]:
        for r in self.runners:
            r.start()
        last = {"tick": 0.0, "reload": time.monotonic()}
        inflight: deque[tuple[list[tuple[CameraRunner, Frame]], Future]] = deque()
        parallel = parallel_calls(self.settings, set(self.detectors))
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sw-model")

        def head_done() -> bool:
            return bool(inflight) and inflight[0][1].done()

        try:
            while not self.stop_event.is_set():
                try:
                    batch = []
                    if sum(not f.done() for _, f in inflight) < parallel + 1:  # one batch waiting: no idle core between calls
                        batch = self._collect(self.max_batch, timeout=0.5, until=head_done)
                    if batch:
                        future = pool.submit(self.infer, batch)
                        future.add_done_callback(self._poke)
                        inflight.append((batch, future))
                    elif inflight and not head_done():
                        wait([inflight[0][1]], timeout=0.5)
                    while head_done():
                        done, future = inflight.popleft()
                        self.consume(done, future.result())
                    if (not batch and not inflight and self.once
                            and all(r.ended and not r.queue for r in self.runners)):
                        break  # live service: runs on with no cameras, they may be added in the database
                    self._housekeeping(time.monotonic(), last)
                except Exception as err:  # live service: log, breathe, go on
                    if self.once:
                        raise
                    self.stats["errors"] += 1
                    event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                          pending_events=len(self._pending))
                    self.stop_event.wait(1.0)
        finally:
            for r in self.runners:
                r.stop()
            while inflight:  # frames already in the model are finished, not dropped
                done, future = inflight.popleft()
                try:
                    self.consume(done, future.result())
                except Exception as err:
                    event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                          lost_frames=len(done))
            pool.shutdown(wait=True)
            final = [e for r in self.runners for e in r.engine.finish()]
            try:
                if final or self._pending:
                    self.store(final)
            except Exception as err:
                if self.once:
                    raise
                event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                      lost_events=len(self._pending))
            self.health.tick()
            if self._grabber is not None:
                self._grabber.close()
            try:  # a notice due now is judged on the last frames, not left waiting
                self.recheck.run_due()
            except Exception as err:  # never hide why the worker stopped
                event(log, "recheck_failed", logging.ERROR, error=mask_all(str(err)))
        return self.stats

    def stop(self) -> None:
        self.stop_event.set()
        with self.wake:
            self.wake.notify_all()
