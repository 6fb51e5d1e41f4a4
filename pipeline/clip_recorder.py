"""Writes evidence clips in a thread of their own, so a camera's reader and the model loop never
wait on a remux or a disk.

A live clip covers seconds after its moment too, so each request waits until that video has
arrived (``not_before``); file clips are cut at once. A clip that fails is logged and lost; the
still pictures of the candidate are untouched.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streetwarden.camera_adapters.clips import CLIP_FAILED, ClipCutter, ClipInfo
from streetwarden.store.db import Database
from streetwarden.store.evidence import save_clip
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.logs import event
from streetwarden.redact import mask_all
from streetwarden.pipeline.thread_priority import lower_this_thread

log = logging.getLogger("streetwarden.evidence")
CLIP_KINDS = {"clip": "raise", "clip_first": "first sight", "clip_recheck": "re-check"}
# which keys of candidate.attributes["clip"] say why a clip of that kind is missing
WHY_KEYS = {"clip": ("status", "reason"), "clip_first": ("first_status", "first_reason")}


@dataclass(order=True)
class ClipRequest:
    not_before: float  # Unix time when the video after the moment is in (0: now)
    seq: int
    candidate_id: int = field(compare=False)
    camera_id: str = field(compare=False)
    kind: str = field(compare=False)  # clip | clip_first | clip_recheck
    moment: float = field(compare=False)  # source clock (Unix for live, seconds into a file)
    start: float = field(compare=False)
    end: float = field(compare=False)
    cutter: ClipCutter = field(compare=False)


@dataclass(order=True)
class ClipJob:
    """Other work for the clip thread (provisional first-sight clips: write, delete), in time order."""

    not_before: float
    seq: int
    camera_id: str = field(compare=False)
    run: Callable[[], None] = field(compare=False)
    alive: Callable[[], bool] | None = field(default=None, compare=False)  # False: no longer wanted


class ClipRecorder:
    """One thread per worker; at most ``max_pending`` clips waiting (more are dropped, and logged)."""

    def __init__(self, db: Database, storage: Path, max_pending: int = 64) -> None:
        self.db, self.storage, self.max_pending = db, storage, max_pending
        self.done = 0
        self.failed = 0
        # (not_before, seq, item): ordered by time, then by arrival; items of the two kinds are never compared
        self._heap: list[tuple[float, int, ClipRequest | ClipJob]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="clip-recorder", daemon=True)
        self._thread.start()

    def request(self, candidate_id: int, camera_id: str, kind: str, moment: float, before: float, after: float,
                cutter: ClipCutter, live: bool) -> None:
        req = ClipRequest(moment + after + 1.0 if live else 0.0, next(self._seq), candidate_id, camera_id, kind,
                          moment, moment - before, moment + after, cutter)
        with self._cond:
            self._prune()
            if len(self._heap) >= self.max_pending or self._closing:
                event(log, "clip_dropped", logging.WARNING, camera=camera_id, candidate=candidate_id, kind=kind,
                      reason="too many clips pending" if not self._closing else "worker stopping")
                return
            heapq.heappush(self._heap, (req.not_before, req.seq, req))
            self._cond.notify_all()

    def submit(self, not_before: float, camera_id: str, run: Callable[[], None],
               alive: Callable[[], bool] | None = None) -> bool:
        """Run `run` on the clip thread once Unix time `not_before` has passed; False: not queued.
        Jobs whose `alive` says False make room when the queue is full (a passing car's dwell starts)."""
        with self._cond:
            self._prune()
            if len(self._heap) >= self.max_pending or self._closing:
                event(log, "clip_job_dropped", logging.WARNING, camera=camera_id,
                      reason="too many clips pending" if not self._closing else "worker stopping")
                return False
            job = ClipJob(not_before, next(self._seq), camera_id, run, alive)
            heapq.heappush(self._heap, (job.not_before, job.seq, job))
            self._cond.notify_all()
        return True

    def _prune(self) -> None:
        """When full, forget the jobs nobody wants any more (called with the lock held)."""
        if len(self._heap) < self.max_pending:
            return
        self._heap = [e for e in self._heap if not (isinstance(e[2], ClipJob) and e[2].alive is not None and not e[2].alive())]
        heapq.heapify(self._heap)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _next(self) -> ClipRequest | ClipJob | None:
        with self._cond:
            while True:
                if self._heap and (self._closing or self._heap[0][0] <= time.time()):
                    return heapq.heappop(self._heap)[2]
                if self._closing:
                    return None
                wait = self._heap[0][0] - time.time() if self._heap else None
                self._cond.wait(wait)

    def _run(self) -> None:
        lower_this_thread()  # evidence yields the cores to analysis (pipeline/thread_priority.py)
        while (req := self._next()) is not None:
            if isinstance(req, ClipJob):
                try:
                    req.run()
                except Exception as err:  # a provisional clip lost: its candidate says so when raised
                    event(log, "clip_job_failed", logging.WARNING, camera=req.camera_id,
                          reason=mask_all(str(err) or type(err).__name__)[:300])
                continue
            try:
                self._write(req)
                self.done += 1
            except Exception as err:  # a clip is extra evidence: losing it never stops anything else
                self.failed += 1
                reason = mask_all(str(err) or type(err).__name__)[:300]
                event(log, "clip_failed", logging.WARNING, camera=req.camera_id, candidate=req.candidate_id,
                      kind=req.kind, reason=reason)
                try:
                    self._say_why(req, reason)
                except Exception as why_err:  # the database is away: the log line above is the record
                    event(log, "clip_note_failed", logging.WARNING, camera=req.camera_id, candidate=req.candidate_id,
                          reason=mask_all(str(why_err) or type(why_err).__name__)[:300])

    def _say_why(self, req: ClipRequest, reason: str) -> None:
        """The candidate says it has no clip of its raise (or first sight), and why (for the reviewer and the API)."""
        if req.kind not in WHY_KEYS:
            return
        note_missing(self.db, req.candidate_id, req.kind, CLIP_FAILED, reason)

    def _write(self, req: ClipRequest) -> None:
        rel = f"evidence/{req.camera_id}/{req.candidate_id}/{req.kind}-{req.moment:.1f}.mp4"
        path, digest, info = save_clip(self.storage, rel, lambda tmp: req.cutter.cut(req.start, req.end, tmp))
        with self.db.session() as s:
            if s.get(Candidate, req.candidate_id) is None:  # decided and deleted meanwhile (undo of a new one)
                (self.storage / path).unlink(missing_ok=True)
                return
            s.add(Evidence(candidate_id=req.candidate_id, kind=req.kind, path=path, sha256=digest,
                           media_type="video/mp4", width=info.width, height=info.height, ts=info.start,
                           note=clip_note(req, info)))
        event(log, "clip_written", camera=req.camera_id, candidate=req.candidate_id, kind=req.kind, codec=info.codec,
              seconds=round(info.end - info.start, 2), packets=info.packets)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending now (live clips get the video that has arrived) and stop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)


def note_missing(db: Database, candidate_id: int, kind: str, status: str, reason: str) -> None:
    """Say in candidate.attributes["clip"] why its clip of `kind` is missing (other keys kept)."""
    status_key, reason_key = WHY_KEYS[kind]
    try:
        with db.session() as s:
            row = s.get(Candidate, candidate_id)
            if row is not None:
                attrs = row.attributes or {}
                row.attributes = {**attrs, "clip": {**attrs.get("clip", {}), status_key: status, reason_key: reason}}
    except Exception as err:  # the database is down too: the log line above is what remains
        event(log, "clip_note_failed", logging.WARNING, candidate=candidate_id, error=mask_all(str(err))[:200])


def clip_note(req: ClipRequest, info: ClipInfo) -> str:
    """The evidence note: what the clip shows and that it is the camera's own encoding."""
    return (f"video around the {CLIP_KINDS.get(req.kind, req.kind)} at {req.moment:.1f}: {info.start:.1f}–"
            f"{info.end:.1f}, {info.codec} {info.width}x{info.height}, {info.fps:g} fps, copied without re-encoding")
