"""Provisional clips of first sights on live cameras, kept until a candidate takes one.

Why: a live camera's packet ring holds ~20 s, but a dwell lasts minutes, so by the time a candidate
is raised the video of the vehicle arriving is gone. When an object's dwell starts, its clip is cut
from the ring at once (on the clip thread, no re-encode) into ``provisional/<camera>/``; when its
candidate is raised the clip becomes evidence ``clip_first``. Bounded: at most ``first_sight_max_clips``
per camera (the oldest dropped), each deleted when its dwell is forgotten or has long passed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streetwarden.camera_adapters.base import SourceError
from streetwarden.camera_adapters.clips import ClipCutter, ClipInfo
from streetwarden.pipeline.clip_recorder import ClipRecorder
from streetwarden.config import ClipsConfig
from streetwarden.logs import event

log = logging.getLogger("streetwarden.evidence")
MATCH_SECONDS = 0.05  # a candidate's first_seen is the very time its dwell reported


@dataclass
class Provisional:
    """One first sight's clip: written by the clip thread, taken by a candidate or dropped."""

    camera_id: str
    zone_id: str
    moment: float
    expires: float
    path: Path
    info: ClipInfo | None = None
    error: str | None = None
    dropped: bool = False


class FirstSightClips:
    """The provisional clips of one worker; the registry is locked, clips are cut on the clip thread only."""

    def __init__(self, recorder: ClipRecorder, storage: Path, cfg: ClipsConfig) -> None:
        self.recorder, self.storage, self.cfg = recorder, storage, cfg
        self._by_camera: dict[str, list[Provisional]] = {}
        self._lock = threading.Lock()

    def folder(self, camera_id: str) -> Path:
        return self.storage / "provisional" / camera_id

    def sighted(self, camera_id: str, zone_id: str, moment: float, dwell_seconds: float, cutter: ClipCutter) -> None:
        """An object started its dwell at `moment` (Unix): cut its clip once `after_seconds` have arrived."""
        if self.cfg.first_sight_max_clips <= 0:
            return
        with self._lock:  # told twice (a left object when found, then when its dwell is counted): one clip
            if any(e.zone_id == zone_id and abs(e.moment - moment) <= MATCH_SECONDS
                   for e in self._by_camera.get(camera_id, [])):
                return
        path = self.folder(camera_id) / f"{zone_id}-{moment:.3f}.mp4"
        entry = Provisional(camera_id, zone_id, moment, moment + dwell_seconds + self.cfg.first_sight_margin_seconds, path)
        with self._lock:
            entries = self._by_camera.setdefault(camera_id, [])
            entries.append(entry)
            stale = self._stale(entries)
            while len(entries) - len(stale) > self.cfg.first_sight_max_clips:
                stale.append(next(e for e in entries if e not in stale))  # the oldest goes first
            for e in stale:
                entries.remove(e)
        for e in stale:
            self._drop(e)
        not_before = moment + self.cfg.after_seconds + 1.0
        if not self.recorder.submit(not_before, camera_id, lambda: self._write(entry, cutter), lambda: not entry.dropped):
            entry.error = "the clip thread had too many clips waiting"

    @staticmethod
    def _stale(entries: list[Provisional]) -> list[Provisional]:
        """Entries whose zone's dwell passed long ago without a candidate taking them."""
        now = time.time()
        return [e for e in entries if e.expires < now]

    def gone(self, camera_id: str, zone_id: str, moment: float) -> None:
        """The dwell that started at `moment` is over without (another) candidate: delete its clip."""
        with self._lock:
            entries = self._by_camera.get(camera_id, [])
            found = [e for e in entries if e.zone_id == zone_id and abs(e.moment - moment) <= MATCH_SECONDS]
            found += [e for e in self._stale(entries) if e not in found]
            for e in found:
                entries.remove(e)
        for e in found:
            self._drop(e)

    def take(self, camera_id: str, zone_id: str, first_seen: float) -> Provisional | None:
        """The provisional clip of a raised candidate's first sight, now its own (None: none kept)."""
        with self._lock:
            entries = self._by_camera.get(camera_id, [])
            entry = next((e for e in entries if e.zone_id == zone_id and abs(e.moment - first_seen) <= MATCH_SECONDS), None)
            if entry is not None:
                entries.remove(entry)
        return entry

    def count(self, camera_id: str) -> int:
        with self._lock:
            return len(self._by_camera.get(camera_id, []))

    def clear(self) -> None:
        """The worker stopped (its clip thread too): no candidate can take these any more."""
        with self._lock:
            entries = [e for es in self._by_camera.values() for e in es]
            self._by_camera.clear()
        for e in entries:
            e.dropped = True
            e.path.unlink(missing_ok=True)

    def _drop(self, entry: Provisional) -> None:
        """Delete its file (a delete, cheap anywhere); not yet written, the clip thread skips it, and one
        being written is removed by the clip thread when it sees the flag."""
        entry.dropped = True
        if entry.info is not None:
            entry.path.unlink(missing_ok=True)

    def _write(self, entry: Provisional, cutter: ClipCutter) -> None:
        if entry.dropped:
            return
        entry.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.path.with_name(".tmp-" + entry.path.name)
        try:
            info = cutter.cut(entry.moment - self.cfg.before_seconds, entry.moment + self.cfg.after_seconds, tmp)
            if info.start > entry.moment:
                raise SourceError(f"the camera's video starts {info.start - entry.moment:.1f} s after the first sight "
                                  "(connected, or its packet ring refilled, after the object arrived)")
            os.replace(tmp, entry.path)
        except Exception as err:
            tmp.unlink(missing_ok=True)
            entry.error = str(err) or type(err).__name__
            raise
        entry.info = info
        if entry.dropped:  # dropped while it was being cut
            entry.path.unlink(missing_ok=True)
            return
        event(log, "first_sight_clip_kept", camera=entry.camera_id, zone=entry.zone_id, moment=round(entry.moment, 2),
              seconds=round(info.end - info.start, 2), packets=info.packets)


class TakenClip:
    """A cutter that hands over a provisional clip (already cut) instead of cutting again."""

    def __init__(self, entry: Provisional) -> None:
        self.entry = entry

    def cut(self, start: float, end: float, out: Path) -> ClipInfo:
        e = self.entry
        if e.info is None or not e.path.exists():
            raise SourceError(f"no first-sight clip was kept: {e.error or 'it was not written'}")
        os.replace(e.path, out)
        return e.info
