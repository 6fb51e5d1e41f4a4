"""Arrival clips (`clip_first`): a live RTSP camera whose dwell is longer than its packet ring still
gets the video of the object's first sight, kept provisionally from the ring when its dwell started;
provisional clips are capped per camera and deleted when their object leaves without a candidate;
file sources cut the first sight straight from the file."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
from sqlalchemy import select

from streetwarden.camera_adapters.clips import RingCutter
from streetwarden.detectors import CameraEngine
from streetwarden.models.detections import COCO_LABELS, Detections
from streetwarden.pipeline.background import BackgroundWorker
from streetwarden.pipeline.clip_recorder import ClipRecorder
from streetwarden.pipeline.first_sight import FirstSightClips, TakenClip
from streetwarden.pipeline.worker import Worker
from streetwarden.store.bundles import build_bundle
from streetwarden.store.db import Database
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.config import ClipsConfig, ZoneConfig, parse_settings
from tests.ring_support import ring_from_rtsp
from tests.rtsp_server import RtspServer
from tests.test_evidence_clips import VAN_ZONE, clip_facts, short_file, source_video  # noqa: F401 (a fixture)
from tests.waiting import wait_for

DWELL = 14.0  # longer than the ring below (2 + 2 + 5 = 9 s)


def live_settings(tmp_path: Path, source: str):  # type: ignore[no-untyped-def]
    data = {"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "server": {"undo_seconds": 0},
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "clips": {"before_seconds": 2, "after_seconds": 2},
            "cameras": [{"id": "cam", "source": source, "analysis_fps": 1, "timeout_seconds": 5,
                         "zones": [{**VAN_ZONE, "dwell_seconds": DWELL}]}]}
    settings = parse_settings(data, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    return settings, db


def clips_of(db: Database) -> tuple[Candidate, dict[str, Evidence]]:
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        rows = s.scalars(select(Evidence).where(Evidence.candidate_id == cand.id)).all()
        s.expunge_all()
    return cand, {e.kind: e for e in rows}


def test_live_camera_keeps_the_arrival_beyond_its_ring(tmp_path: Path, rtsp_media) -> None:  # type: ignore[no-untyped-def]
    with RtspServer({"/main": rtsp_media["main"]}) as server:
        settings, db = live_settings(tmp_path, server.url("/main"))
        assert settings.clips.ring_seconds < DWELL
        background = BackgroundWorker(settings, db, reload_seconds=1.0).start()
        try:
            def arrival_written() -> bool:
                with db.session() as s:
                    return s.scalar(select(Evidence).where(Evidence.kind == "clip_first")) is not None
            assert wait_for(arrival_written, 150, 0.5), "no clip_first for the van raised from the RTSP camera"
            ring_start = background.worker.runners[0].ring.span()[0]  # type: ignore[union-attr]
        finally:
            background.stop()
    cand, ev = clips_of(db)
    first, raised = ev["clip_first"], ev["clip"]
    raised_at = min(e.ts for e in ev.values() if e.kind == "frame")
    assert raised_at - cand.first_seen >= DWELL and ring_start > cand.first_seen, "the ring could not reach back"
    facts = clip_facts(settings.storage_path / first.path)
    assert first.ts <= cand.first_seen <= first.ts + facts["duration"], (first.ts, facts, cand.first_seen)
    assert first.ts + facts["duration"] < raised_at - 5  # the arrival, not the raise again
    assert raised.ts > cand.first_seen + DWELL - 5
    assert facts["codec"] == source_video(rtsp_media["main"])[0] and "first sight" in (first.note or "")
    assert hashlib.sha256((settings.storage_path / first.path).read_bytes()).hexdigest() == first.sha256
    with db.session() as s:
        ref = issue_from_decision(s, s.get(Candidate, cand.id), "warn", "alice", settings).ref
    with db.session() as s:
        _, data = build_bundle(s, settings.storage_path, ref)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    entry = next(f for f in manifest["files"] if f["kind"] == "clip_first")
    assert entry["sha256"] == entry["recorded_sha256"] == first.sha256 and manifest["intact"] is True
    # the worker stopped: no provisional clip is left behind
    assert not list((settings.storage_path / "provisional").rglob("*.mp4"))


def test_file_source_cuts_the_first_sight_from_the_file(tmp_path: Path, short_file: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_evidence_clips import settings_for

    settings, db = settings_for(tmp_path, str(short_file))
    Worker(settings, db, once=True).run()
    cand, ev = clips_of(db)
    facts = clip_facts(settings.storage_path / ev["clip_first"].path)
    assert ev["clip_first"].ts <= cand.first_seen <= ev["clip_first"].ts + facts["duration"], (facts, cand.first_seen)
    assert "first_status" not in (cand.attributes or {}).get("clip", {})


def test_provisional_clips_are_capped_and_deleted_when_their_object_leaves(tmp_path: Path, rtsp_media) -> None:  # type: ignore[no-untyped-def]
    """Real ring of a real RTSP stream, the real clip thread: 6 first sights with a cap of 3 keep the
    newest 3 files; two objects leave (their files go); the third is taken whole by its candidate."""
    with RtspServer({"/main": rtsp_media["main"]}) as server:
        ring = ring_from_rtsp(server.url("/main"))
    first, last = ring.span()  # type: ignore[misc]
    cfg = ClipsConfig(before_seconds=1, after_seconds=0, first_sight_max_clips=3)
    recorder = ClipRecorder(Database(f"sqlite:///{tmp_path}/unused.db"), tmp_path)
    sights = FirstSightClips(recorder, tmp_path, cfg)
    cutter = RingCutter(ring)
    moments = [first + 1.5 + i * 0.5 for i in range(6)]
    try:
        for m in moments:
            sights.sighted("cam", "walk-1", m, 60.0, cutter)
        # told twice of one first sight (a left object when found, then when its dwell is counted): one clip
        sights.sighted("cam", "walk-1", moments[-1], 60.0, cutter)
        folder = sights.folder("cam")
        assert sights.count("cam") == 3
        assert wait_for(lambda: recorder.pending == 0, 30)
        assert sorted(p.name for p in folder.glob("*.mp4")) == sorted(f"walk-1-{m:.3f}.mp4" for m in moments[3:])
        sights.gone("cam", "walk-1", moments[3])
        sights.gone("cam", "walk-1", moments[4])
        assert wait_for(lambda: recorder.pending == 0 and len(list(folder.glob("*.mp4"))) == 1, 30)
        entry = sights.take("cam", "walk-1", moments[5])
        assert entry is not None and sights.count("cam") == 0 and sights.take("cam", "walk-1", moments[5]) is None
        info = TakenClip(entry).cut(0, 0, tmp_path / "taken.mp4")
        assert info.start <= moments[5] and clip_facts(tmp_path / "taken.mp4")["frames"] > 0
        assert not list(folder.glob("*.mp4"))
        # a first sight whose zone's dwell (+ margin) passed without a candidate goes at the next call
        lapsing = FirstSightClips(recorder, tmp_path / "lapse", ClipsConfig(before_seconds=1, after_seconds=0,
                                                                             first_sight_margin_seconds=0))
        lapse_at = time.time() + 2.0  # its dwell ends 2 s from now
        lapsing.sighted("cam", "walk-1", moments[0], lapse_at - moments[0], cutter)
        assert wait_for(lambda: len(list(lapsing.folder("cam").glob("*.mp4"))) == 1, 30)
        assert wait_for(lambda: time.time() > lapse_at, 10)
        lapsing.sighted("cam", "walk-1", moments[1], 600.0, cutter)
        assert lapsing.count("cam") == 1 and lapsing.take("cam", "walk-1", moments[0]) is None
        assert wait_for(lambda: [p.name for p in lapsing.folder("cam").glob("*.mp4")] == [f"walk-1-{moments[1]:.3f}.mp4"], 30)
    finally:
        recorder.close()


def test_a_full_clip_queue_makes_room_for_clips_by_dropping_unwanted_first_sights(tmp_path: Path) -> None:
    """A car driving through restarts its dwell every frame: those first sights are dropped at once and
    must never crowd out a candidate's clip in the clip thread's queue."""
    recorder = ClipRecorder(Database(f"sqlite:///{tmp_path}/unused.db"), tmp_path, max_pending=4)
    ran: list[int] = []
    dropped = {"yes": False}
    try:
        later = time.time() + 3600
        for i in range(4):
            assert recorder.submit(later, "cam", lambda i=i: ran.append(i), lambda: not dropped["yes"])
        assert not recorder.submit(later, "cam", lambda: ran.append(9))  # full, and all still wanted
        dropped["yes"] = True
        assert recorder.submit(later, "cam", lambda: ran.append(5)) and recorder.pending == 1
    finally:
        recorder.close()
    assert ran == [5]  # close runs what is pending: only the wanted job


def test_engine_reports_a_dwell_start_and_its_object_leaving() -> None:
    """The engine tells its listener when a dwell starts and when that object is gone for good, so a
    provisional clip of an object that left without a candidate is deleted."""
    zone = ZoneConfig.model_validate({**VAN_ZONE, "dwell_seconds": 600})
    engine = CameraEngine("cam", [zone], live=True)
    calls: list[tuple[str, float, bool]] = []
    engine.on_sight = lambda z, moment, new: calls.append((z.id, moment, new))
    image = np.zeros((576, 768, 3), np.uint8)
    car = Detections(np.array([[660, 40, 720, 110]], np.float32), np.array([0.9], np.float32),
                     np.array([COCO_LABELS.index("car")], np.int64))
    for t in range(5):
        engine.process(1000.0 + t, image, car)
    assert calls == [("walk-1", 1000.0, True)]
    t = 1005.0
    while t < 1005 + engine.timers.lost_seconds + engine.timers.memory_seconds + 3:
        engine.process(t, image, Detections.empty())
        t += 1.0
    assert calls == [("walk-1", 1000.0, True), ("walk-1", 1000.0, False)]


def test_clip_jobs_and_clips_due_at_the_same_moment_share_the_queue(tmp_path: Path, short_file: Path) -> None:  # type: ignore[no-untyped-def]
    """A provisional job and a file clip both due now sit side by side in the clip thread's queue (they
    were once compared with each other, which killed the thread); the thread goes on after both."""
    from streetwarden.camera_adapters.clips import FileCutter

    db = Database(f"sqlite:///{tmp_path}/sw.db")
    db.upgrade()
    recorder = ClipRecorder(db, tmp_path)
    ran: list[str] = []
    try:
        assert recorder.submit(0.0, "cam", lambda: ran.append("before"))
        recorder.request(1, "cam", "clip", 1.0, 0.5, 0.5, FileCutter(short_file), live=False)  # due now as well
        assert recorder.submit(0.0, "cam", lambda: ran.append("after"))
        # no candidate 1 exists, so the clip itself fails (logged): what counts is that all three were taken
        assert wait_for(lambda: ran == ["before", "after"] and recorder.done + recorder.failed == 1, 60, 0.1), \
            (ran, recorder.done, recorder.failed)
    finally:
        recorder.close()
