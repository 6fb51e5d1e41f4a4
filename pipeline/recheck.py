"""Re-checks at a notice's deadline: does the camera still see the violation?

The worker keeps each camera's latest analysed frame and its detections on a `LiveBoard`. When a
notice's deadline has passed, the `RecheckService` looks at a frame analysed after the deadline:
gone -> the notice closes as complied with that frame as evidence; still there -> a case or the
supervisor's queue. A camera without such a frame (offline, stalled, ended) postpones the re-check
and says why; it never closes a notice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.camera_adapters import SourceHealth
from streetwarden.detectors.presence import SIMILARITY_VIOLATIONS, Presence, scale_box, still_there
from streetwarden.detectors.rules import RULES
from streetwarden.models.detections import Detections
from streetwarden.store.cameras import load_zones
from streetwarden.store.db import Database
from streetwarden.store.evidence import crop_with_margin, save_image
from streetwarden.store.notice_schema import Notice
from streetwarden.store.notices import close_complied, due_notices, persisted, postpone
from streetwarden.store.schema import Evidence
from streetwarden.config import VIOLATION_BY_ZONE_KIND, Settings
from streetwarden.logs import event

log = logging.getLogger("streetwarden.recheck")
KIND_BY_VIOLATION = {v: k for k, v in VIOLATION_BY_ZONE_KIND.items()}


@dataclass(frozen=True)
class Snapshot:
    """A camera's latest analysed frame: `seen_at` is the wall-clock time it was analysed."""

    camera_id: str
    ts: float
    seen_at: float
    image: np.ndarray
    dets: Detections


class LiveBoard:
    """Latest frame, detections and health per camera, shared by the worker and the re-check."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._health: dict[str, SourceHealth] = {}
        self._since: dict[str, float] = {}
        self.clock = clock

    def register(self, camera_id: str, health: SourceHealth) -> None:
        with self._lock:
            self._health[camera_id] = health
            self._since[camera_id] = self.clock()

    def running_since(self, camera_id: str) -> float | None:
        """When this worker started the camera (None if it does not run it)."""
        with self._lock:
            return self._since.get(camera_id)

    def unregister(self, camera_id: str) -> None:
        """The worker stopped the camera (removed, or its lease went to another node)."""
        with self._lock:
            self._health.pop(camera_id, None)
            self._snapshots.pop(camera_id, None)
            self._since.pop(camera_id, None)

    def record(self, camera_id: str, ts: float, image: np.ndarray, dets: Detections) -> None:
        with self._lock:
            self._snapshots[camera_id] = Snapshot(camera_id, ts, self.clock(), image, dets)

    def latest(self, camera_id: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(camera_id)

    def health(self, camera_id: str) -> SourceHealth | None:
        with self._lock:
            return self._health.get(camera_id)

    def cameras(self) -> list[str]:
        """Cameras this board's worker runs; only their notices are re-checked here."""
        with self._lock:
            return sorted(set(self._health) | set(self._snapshots))


class RecheckService:
    """Settles notices whose deadline has passed, from the board's frames."""

    def __init__(self, db: Database, settings: Settings, board: LiveBoard,
                 clock: Callable[[], float] = time.time, owns: Callable[[str], bool] | None = None) -> None:
        self.db = db
        self.owns = owns  # many nodes: only a camera's current lease holder re-checks its notices
        self.settings = settings
        self.cfg = settings.notices
        self.board = board
        self.clock = clock
        # told (candidate id, camera, frame time) after each re-check: the worker keeps a clip of it
        self.on_checked: Callable[[int, str, float], None] | None = None

    def run_due(self) -> list[dict]:
        """Check every due notice once; returns what happened to each (also logged)."""
        at = self.clock()
        outcomes = []
        cameras = [c for c in self.board.cameras() if self.owns is None or self.owns(c)]
        if not cameras:
            return outcomes
        with self.db.session() as s:
            notices = due_notices(s, at, camera_ids=cameras)
        for n in notices:
            try:
                with self.db.session() as s:
                    notice = s.get(Notice, n.id, with_for_update=True)  # one settlement, whoever else looks
                    if notice is None or notice.status != "open" or (self.owns is not None and not self.owns(notice.camera_id)):
                        continue
                    outcomes.append(self.check(s, notice, at))
            except Exception as err:  # one bad notice never stops the others
                event(log, "recheck_failed", logging.ERROR, notice=n.ref, error=str(err))
        return outcomes

    def _offline_reason(self, notice: Notice, snap: Snapshot | None, at: float) -> str | None:
        health = self.board.health(notice.camera_id)
        state = f"{health.state}{': ' + health.reason if health and health.reason else ''}" if health else "not run by this worker"
        if snap is None:
            return f"camera {notice.camera_id} has shown no frame yet ({state})"
        if snap.seen_at < notice.deadline:
            return f"camera {notice.camera_id} has shown no frame since the deadline ({state})"
        if at - snap.seen_at > self.cfg.max_frame_age_seconds:
            return (f"camera {notice.camera_id}'s latest frame is {at - snap.seen_at:.0f} s old, more than "
                    f"{self.cfg.max_frame_age_seconds:.0f} s ({state})")
        return None

    def _frame_coming(self, notice: Notice, snap: Snapshot | None, at: float) -> bool:
        """The camera is up but its first frame after the deadline is not analysed yet: wait for it
        (a short wait, within max_frame_age_seconds), rather than postpone as if it were offline."""
        if snap is not None and snap.seen_at >= notice.deadline:
            return False
        health = self.board.health(notice.camera_id)
        since = self.board.running_since(notice.camera_id)
        if health is None or since is None or health.state not in ("starting", "online"):
            return False
        return at - max(notice.deadline, since) <= self.cfg.max_frame_age_seconds

    def check(self, s: Session, notice: Notice, at: float) -> dict:
        snap = self.board.latest(notice.camera_id)
        if self._frame_coming(notice, snap, at):
            return {"notice": notice.ref, "outcome": "waiting", "reason": "no frame analysed since the deadline yet"}
        offline = self._offline_reason(notice, snap, at)
        if offline is not None or snap is None:
            until = at + self.cfg.postpone_seconds
            postpone(s, notice, f"re-check postponed: {offline}", until, at)
            event(log, "recheck_postponed", logging.WARNING, notice=notice.ref, camera=notice.camera_id, reason=offline)
            return {"notice": notice.ref, "outcome": "postponed", "reason": offline}
        found = self.presence(s, notice, snap)
        evidence_id = self._save_frame(s, notice, snap, found)
        note = f"re-check at frame {snap.ts:.1f}: {found.reason}"
        if found.present:
            result = persisted(s, notice, self.settings, evidence_id, note, at)
            outcome = "case" if result is not notice else "supervisor"
        else:
            close_complied(s, notice, self.settings, evidence_id, note, at)
            outcome = "complied"
        event(log, "recheck_done", notice=notice.ref, camera=notice.camera_id, outcome=outcome, reason=found.reason)
        if self.on_checked is not None:
            self.on_checked(notice.candidate_id, notice.camera_id, snap.ts)
        return {"notice": notice.ref, "outcome": outcome, "reason": found.reason}

    def presence(self, s: Session, notice: Notice, snap: Snapshot) -> Presence:
        h, w = snap.image.shape[:2]
        box = scale_box(notice.box, (notice.frame_width, notice.frame_height), (w, h))
        kind = KIND_BY_VIOLATION.get(notice.violation)
        labels: set[str] = {notice.label}
        min_score = 0.3
        if kind is not None:
            rule = RULES[kind]
            _, zones = load_zones(s, notice.camera_id)
            zone = next((z for z in zones if z.id == notice.zone_id), None)
            labels |= set(zone.labels or rule.default_labels) if zone else set(rule.default_labels)
            if zone is not None:
                min_score = zone.min_score
        current_crop = evidence_crop = None
        if notice.violation in SIMILARITY_VIOLATIONS:  # bin_overflow: by class only (see presence.py)
            evidence_crop = self._evidence_crop(s, notice)
            current_crop = crop_with_margin(snap.image, box)
        return still_there(box, snap.dets, frozenset(labels), min_score=min_score, min_iou=self.cfg.min_iou,
                           violation=notice.violation, current_crop=current_crop, evidence_crop=evidence_crop,
                           min_similarity=self.cfg.min_similarity)

    def _evidence_crop(self, s: Session, notice: Notice) -> np.ndarray | None:
        row = s.scalar(select(Evidence).where(Evidence.candidate_id == notice.candidate_id, Evidence.kind == "crop")
                       .order_by(Evidence.id.desc()).limit(1))
        if row is None:
            return None
        image = cv2.imread(str(self.settings.storage_path / row.path), cv2.IMREAD_COLOR)
        return image

    def _save_frame(self, s: Session, notice: Notice, snap: Snapshot, found: Presence) -> int:
        """The re-check frame, with the notice box (red) and any matching object (yellow), as candidate evidence."""
        out = snap.image.copy()
        h, w = out.shape[:2]
        thick = max(2, w // 400)
        b = scale_box(notice.box, (notice.frame_width, notice.frame_height), (w, h)).round().astype(int)
        cv2.rectangle(out, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (0, 0, 255), thick)
        if found.match_box is not None:
            m = found.match_box.round().astype(int)
            cv2.rectangle(out, (int(m[0]), int(m[1])), (int(m[2]), int(m[3])), (0, 255, 255), thick)
        rel = f"evidence/{notice.camera_id}/{notice.candidate_id}/recheck-{notice.ref}-{notice.recheck_attempts}.jpg"
        path, digest, ew, eh = save_image(self.settings.storage_path, rel, out)
        ev = Evidence(candidate_id=notice.candidate_id, kind="recheck", path=path, sha256=digest, width=ew, height=eh,
                      ts=snap.ts, note=f"{notice.ref}: {'still there' if found.present else 'gone'} — {found.reason}")
        s.add(ev)
        s.flush()
        return ev.id
