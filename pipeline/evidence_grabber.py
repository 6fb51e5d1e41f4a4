"""Full-resolution evidence from a camera's main stream while its sub-stream is analysed.

Cameras offer a small sub-stream (cheap to decode) and a full-resolution main stream. The model
runs on the sub-stream; when it raises a new candidate, this thread connects to the main stream,
takes one key frame, draws the candidate's box scaled to that picture and stores it as evidence
of kind ``main``. It runs beside the worker so a slow camera never stalls analysis.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import numpy as np

from streetwarden.camera_adapters import LiveOptions
from streetwarden.camera_adapters.factory import grab_still
from streetwarden.detectors.events import EvidenceImage
from streetwarden.store.db import Database
from streetwarden.store.evidence import render, save_image
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.logs import event
from streetwarden.redact import mask_all
from streetwarden.pipeline.thread_priority import lower_this_thread

log = logging.getLogger("streetwarden.evidence")


@dataclass
class GrabRequest:
    candidate_id: int
    camera_id: str
    url: str
    options: LiveOptions
    box: np.ndarray  # in analysed-frame pixels
    frame_size: tuple[int, int]  # (width, height) of the analysed frame
    ts: float


def scale_box(box: np.ndarray, frame_size: tuple[int, int], image: np.ndarray) -> np.ndarray:
    w, h = frame_size
    sx, sy = image.shape[1] / max(w, 1), image.shape[0] / max(h, 1)
    return (np.asarray(box, np.float32) * np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)


class EvidenceGrabber:
    """One background thread; requests beyond ``max_pending`` are dropped (and logged)."""

    def __init__(self, db: Database, storage, max_pending: int = 64) -> None:  # type: ignore[no-untyped-def]
        self.db, self.storage = db, storage
        self.queue: queue.Queue[GrabRequest | None] = queue.Queue(max_pending)
        self.done = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="evidence-grabber", daemon=True)
        self._thread.start()

    def request(self, req: GrabRequest) -> None:
        try:
            self.queue.put_nowait(req)
        except queue.Full:
            event(log, "evidence_dropped", logging.WARNING, camera=req.camera_id, candidate=req.candidate_id,
                  reason="too many main-stream pictures pending")

    def _run(self) -> None:
        lower_this_thread()  # evidence yields the cores to analysis (pipeline/thread_priority.py)
        while True:
            req = self.queue.get()
            if req is None:
                return
            try:
                self._grab(req)
                self.done += 1
            except Exception as err:  # a main stream that fails costs the picture, never the worker
                self.failed += 1
                event(log, "evidence_failed", logging.WARNING, camera=req.camera_id, candidate=req.candidate_id,
                      reason=mask_all(f"{type(err).__name__}: {err}"))

    def _grab(self, req: GrabRequest) -> None:
        image = grab_still(req.url, req.options)
        box = scale_box(req.box, req.frame_size, image)
        item = EvidenceImage("main", image, req.ts, box, note="full-resolution picture from the main stream")
        with self.db.session() as s:
            if s.get(Candidate, req.candidate_id) is None:
                return
            rel = f"evidence/{req.camera_id}/{req.candidate_id}/main-{req.ts:.1f}.jpg"
            path, digest, w, h = save_image(self.storage, rel, render(item))
            s.add(Evidence(candidate_id=req.candidate_id, kind="main", path=path, sha256=digest, width=w, height=h,
                           ts=req.ts, note=item.note))
        event(log, "evidence_main", camera=req.camera_id, candidate=req.candidate_id, width=w, height=h)

    def close(self, timeout: float = 5.0) -> None:
        try:
            self.queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)
