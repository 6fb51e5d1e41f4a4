"""The worker: drives every camera's frames through one shared model session per model and hands
candidate events to the store. Frames of several cameras are batched into one model call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from camera_adapters import Frame
from models import OnnxDetector
from pipeline.camera_runner import CameraRunner
from pipeline.recheck import LiveBoard, RecheckService
from store.cameras import load_zones, sync_cameras, zones_version
from store.candidates import CandidateWriter
from store.db import Database
from store.shops import sync_shops
from streetwarden.config import Settings
from streetwarden.logs import event

log = logging.getLogger("streetwarden.worker")


def build_detectors(settings: Settings, keys: set[str]) -> dict[str, OnnxDetector]:
    out = {}
    for key in sorted(keys):
        m = settings.models[key]
        out[key] = OnnxDetector(settings.model_path(key), family=m.family, score_threshold=m.score_threshold,
                                nms_iou=m.nms_iou, threads=m.threads, max_batch=m.max_batch)
    return out


class Worker:
    """Runs the enabled cameras of a configuration until stopped (or, with once=True, until every
    file source has ended)."""

    def __init__(self, settings: Settings, db: Database, once: bool = False, reload_seconds: float = 2.0,
                 camera_ids: list[str] | None = None) -> None:
        self.settings = settings
        self.db = db
        self.once = once
        self.reload_seconds = reload_seconds
        self.stop_event = threading.Event()
        self.wake = threading.Condition()
        self.writer = CandidateWriter(settings.storage_path, settings.dedupe.window_seconds, settings.dedupe.min_iou)
        self.stats = {"frames": 0, "batches": 0, "events": 0, "created": 0}
        self.on_batch: Callable[[int], None] | None = None
        cams = [c for c in settings.cameras if c.enabled and (camera_ids is None or c.id in camera_ids)]
        # notices: each camera's latest analysed frame, for re-checks at a notice's deadline
        self.board = LiveBoard()
        self.recheck = RecheckService(db, settings, self.board)
        self.plates = None
        if settings.plates.enabled:
            from pipeline.plate_reader import PlateReader

            self.plates = PlateReader(settings.plates)
        with db.session() as s:
            sync_cameras(s, settings)
            sync_shops(s, settings)
            self.runners: list[CameraRunner] = []
            for cam in cams:
                version, zones = load_zones(s, cam.id)
                runner = CameraRunner(settings, cam, zones, self.wake)
                runner.zones_version = version
                self.runners.append(runner)
                self.board.register(cam.id, runner.health)
        self.detectors = build_detectors(settings, {c.model for c in cams})

    def open_all(self) -> None:
        """Open every source now (batch use): raises the first SourceError so the CLI can report it."""
        for r in self.runners:
            r.open()

    def _collect(self, max_batch: int, timeout: float) -> list[tuple[CameraRunner, Frame]]:
        with self.wake:
            deadline = time.monotonic() + timeout
            while True:
                batch: list[tuple[CameraRunner, Frame]] = []
                progressed = True
                while len(batch) < max_batch and progressed:
                    progressed = False
                    for r in self.runners:  # round-robin: one frame per camera per pass
                        if r.queue and len(batch) < max_batch:
                            batch.append((r, r.queue.popleft()))
                            progressed = True
                if batch:
                    self.wake.notify_all()  # readers waiting for room
                    return batch
                if self.stop_event.is_set() or all(r.ended for r in self.runners):
                    return []
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.wake.wait(left)

    def _reload_zones(self) -> None:
        with self.db.session() as s:
            for r in self.runners:
                version = zones_version(s, r.cam.id)
                if version != r.zones_version:
                    r.zones_version, zones = load_zones(s, r.cam.id)
                    r.engine.set_zones(zones)
                    event(log, "zones_reloaded", camera=r.cam.id, version=version, zones=len(zones))

    def process(self, batch: list[tuple[CameraRunner, Frame]]) -> None:
        by_model: dict[str, list[tuple[CameraRunner, Frame]]] = {}
        for r, f in batch:
            by_model.setdefault(r.cam.model, []).append((r, f))
        events = []
        for key, items in by_model.items():
            dets = self.detectors[key]([f.image for _, f in items])
            for (r, f), d in zip(items, dets):
                self.board.record(r.cam.id, f.ts, f.image, d)
                events.extend(r.engine.process(f.ts, f.image, d))
        self.stats["frames"] += len(batch)
        self.stats["batches"] += 1
        if events:
            self.store(events)

    def store(self, events: list) -> None:
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

    def run(self) -> dict[str, int]:
        for r in self.runners:
            r.start()
        max_batch = max((self.settings.models[k].max_batch for k in self.detectors), default=1)
        last_reload = last_recheck = time.monotonic()
        try:
            while not self.stop_event.is_set():
                batch = self._collect(max_batch, timeout=0.5)
                if batch:
                    self.process(batch)
                    if self.on_batch:
                        self.on_batch(len(batch))
                elif all(r.ended for r in self.runners) and (self.once or not self.runners):
                    break
                if time.monotonic() - last_reload >= self.reload_seconds:
                    self._reload_zones()
                    last_reload = time.monotonic()
                if time.monotonic() - last_recheck >= self.settings.notices.check_every_seconds:
                    self.recheck.run_due()
                    last_recheck = time.monotonic()
        finally:
            for r in self.runners:
                r.stop()
            final = [e for r in self.runners for e in r.engine.finish()]
            if final:
                self.store(final)
            try:  # a notice due now is judged on the last frames, not left waiting
                self.recheck.run_due()
            except Exception as err:  # never hide why the worker stopped
                event(log, "recheck_failed", logging.ERROR, error=str(err))
        return self.stats

    def stop(self) -> None:
        self.stop_event.set()
        with self.wake:
            self.wake.notify_all()
