"""Evidence clips from real footage: a live RTSP camera (gst-rtsp-server) and a video file each give
their raised candidate an MP4 remuxed from the camera's own packets (same codec and size, no
re-encode) that covers the frame that raised it; its SHA-256 is in the evidence bundle; the real
API serves it only to signed-in users, with HTTP Range (206) for a <video> that seeks."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from streetwarden.camera_adapters.clips import NO_VIDEO
from streetwarden.camera_adapters.packet_ring import PacketRing, RingPacket
from streetwarden.pipeline.background import BackgroundWorker
from streetwarden.pipeline.worker import Worker
from streetwarden.store.bundles import build_bundle
from streetwarden.store.db import Database
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.config import parse_settings
from tests.review_support import LiveServer, add_users
from tests.ring_support import ring_from_rtsp
from tests.rtsp_server import RtspServer
from tests.waiting import wait_for

VAN_ZONE = {"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 10,
            "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}


def settings_for(tmp_path: Path, source: str, notices: dict | None = None, **clips: object):  # type: ignore[no-untyped-def]
    data = {"notices": notices or {},"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "server": {"undo_seconds": 0},
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "clips": {"before_seconds": 6, "after_seconds": 4, **clips},
            "cameras": [{"id": "cam", "source": source, "analysis_fps": 1, "timeout_seconds": 5, "zones": [VAN_ZONE]}]}
    settings = parse_settings(data, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    return settings, db


@pytest.fixture(scope="module")
def short_file(tmp_path_factory, vtest_path: Path) -> Path:
    """30 s of vtest as H.264 (key frame every 10 frames): the van is raised at 10 s."""
    from tests.rtsp_server import transcode

    return transcode(vtest_path, tmp_path_factory.mktemp("clips") / "short.mp4", gop=10, seconds=30)


def source_video(path: Path) -> tuple[str, int, int, float]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return v.codec_context.name, v.width, v.height, float(v.average_rate)


def clip_facts(path: Path) -> dict:
    """What PyAV reads back from a stored clip (decoding every frame, so a broken file fails here)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(v))
        return {"format": c.format.name, "codec": v.codec_context.name, "size": (v.width, v.height),
                "duration": c.duration / 1e6, "frames": frames}


def assert_clip_of_raise(db: Database, storage: Path, source: Path) -> tuple[Candidate, Evidence]:
    """The raised candidate's clip: remuxed from the source's packets, covering the frame that raised it."""
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        rows = s.scalars(select(Evidence).where(Evidence.candidate_id == cand.id).order_by(Evidence.id)).all()
        s.expunge_all()
    clip = next(e for e in rows if e.kind == "clip")
    raised_at = min(e.ts for e in rows if e.kind == "frame")  # the frame that raised it
    facts = clip_facts(storage / clip.path)
    codec, width, height, fps = source_video(source)
    assert "mp4" in facts["format"]
    assert (facts["codec"], facts["size"]) == (codec, (width, height)), "the clip must copy the camera's codec"
    assert (clip.media_type, clip.width, clip.height) == ("video/mp4", width, height)
    assert clip.ts <= raised_at - 3 and raised_at + 1 <= clip.ts + facts["duration"], (clip.ts, facts, raised_at)
    # every frame of the source's rate is there: copied packets, not a re-sampled encode
    assert abs(facts["frames"] - facts["duration"] * fps) <= 2, (facts, fps)
    assert hashlib.sha256((storage / clip.path).read_bytes()).hexdigest() == clip.sha256
    return cand, clip


def assert_in_bundle(db: Database, settings, cand: Candidate, clip: Evidence) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        ref = issue_from_decision(s, s.get(Candidate, cand.id), "warn", "alice", settings).ref
    with db.session() as s:
        _, data = build_bundle(s, settings.storage_path, ref)
    zf = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(zf.read("manifest.json"))
    entry = next(f for f in manifest["files"] if f["kind"] == "clip")
    assert entry["sha256"] == entry["recorded_sha256"] == clip.sha256 and entry["name"].endswith(".mp4")
    assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == clip.sha256 and manifest["intact"] is True


def test_rtsp_camera_keeps_a_copied_clip_of_the_raise(tmp_path: Path, rtsp_media) -> None:  # type: ignore[no-untyped-def]
    with RtspServer({"/main": rtsp_media["main"]}) as server:
        settings, db = settings_for(tmp_path, server.url("/main"))
        background = BackgroundWorker(settings, db, reload_seconds=1.0).start()
        try:
            def clip_written() -> bool:
                with db.session() as s:
                    return s.scalar(select(Evidence).where(Evidence.kind == "clip")) is not None
            assert wait_for(clip_written, 120, 0.5), "no clip for the van raised from the RTSP camera"
            runner = background.worker.runners[0]  # type: ignore[union-attr]
            ring = runner.ring
            assert ring is not None and 0 < ring.size_bytes <= 16_000_000
            first, last = ring.span()  # type: ignore[misc]
            assert last - first <= settings.clips.ring_seconds
        finally:
            background.stop()
    cand, clip = assert_clip_of_raise(db, settings.storage_path, rtsp_media["main"])
    assert cand.live and clip.note and "copied without re-encoding" in clip.note
    assert_in_bundle(db, settings, cand, clip)


def test_a_worker_stopped_right_after_a_raise_still_writes_its_clip(tmp_path: Path, rtsp_media) -> None:  # type: ignore[no-untyped-def]
    """A live clip waits `after_seconds` for the video after its moment; a worker stopped meanwhile (a
    deploy, a restart) writes it from the video that had arrived. (It used to free the camera's packet
    ring as the reader ended, before the clip writer's last cuts: the clip failed as "not connected".)"""
    with RtspServer({"/main": rtsp_media["main"]}) as server:
        settings, db = settings_for(tmp_path, server.url("/main"), after_seconds=40)
        background = BackgroundWorker(settings, db, reload_seconds=1.0).start()
        try:
            def raised() -> bool:
                with db.session() as s:
                    return s.scalar(select(Candidate)) is not None
            assert wait_for(raised, 120, 0.2), "the van was not raised from the RTSP camera"
            with db.session() as s:  # the clip's moment + 40 s is still to come: it waits, pending
                assert s.scalar(select(Evidence).where(Evidence.kind == "clip")) is None
            # the clip writer is busy (as on a loaded machine) until the camera's reader has ended
            runner = background.worker.runners[0]  # type: ignore[union-attr]
            assert background.worker.clips is not None  # type: ignore[union-attr]
            background.worker.clips.submit(0.0, "cam", lambda: wait_for(lambda: runner.ended, 30, 0.05))  # type: ignore[union-attr]
        finally:
            background.stop()
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        clip = s.scalar(select(Evidence).where(Evidence.candidate_id == cand.id, Evidence.kind == "clip"))
        raised_at = min(e.ts for e in cand.evidence if e.kind == "frame")
        attrs = cand.attributes or {}
    assert clip is not None, f"the raise's clip was lost when the worker stopped: {attrs.get('clip')}"
    assert "failed" not in {(attrs.get("clip") or {}).get(k) for k in ("status", "first_status")}, attrs
    facts = clip_facts(settings.storage_path / clip.path)
    assert facts["codec"] == source_video(rtsp_media["main"])[0] and facts["frames"] > 0
    # it covers the raise and ends with the video that had arrived, well before the 40 s it waited for
    assert clip.ts <= raised_at - 3 and raised_at <= clip.ts + facts["duration"] < raised_at + 40, (clip.ts, facts, raised_at)


def test_file_source_cuts_the_same_seconds_from_the_file(tmp_path: Path, short_file: Path) -> None:
    settings, db = settings_for(tmp_path, str(short_file))
    Worker(settings, db, once=True).run()
    cand, clip = assert_clip_of_raise(db, settings.storage_path, short_file)
    assert not cand.live
    assert_in_bundle(db, settings, cand, clip)


def test_recheck_keeps_a_clip_of_the_frame_it_judged(tmp_path: Path, short_file: Path) -> None:
    """Warned, the grace passes, the camera still shows the van: the re-check's clip covers the frame
    it judged and goes into the case's bundle."""
    settings, db = settings_for(tmp_path, str(short_file), notices={"grace_seconds": {"sidewalk_parking": 1.0},
                                                                      "check_every_seconds": 0.2})
    Worker(settings, db, once=True).run()
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        nref = issue_from_decision(s, cand, "warn", "alice", settings).ref
        cid = cand.id
    assert wait_for(lambda: time.time() > deadline_of(db, nref), 10)
    Worker(settings, db, once=True).run()  # the same view again: the van never leaves
    with db.session() as s:
        rows = s.scalars(select(Evidence).where(Evidence.candidate_id == cid).order_by(Evidence.id)).all()
        s.expunge_all()
    judged = [e for e in rows if e.kind == "recheck"]
    clips = [e for e in rows if e.kind == "clip_recheck"]
    assert len(judged) == 1 and len(clips) == 1, [e.kind for e in rows]
    facts = clip_facts(settings.storage_path / clips[0].path)
    assert clips[0].ts <= judged[0].ts <= clips[0].ts + facts["duration"], (clips[0].ts, facts, judged[0].ts)
    assert facts["codec"] == source_video(short_file)[0]
    with db.session() as s:
        from streetwarden.store.notice_schema import Case

        cref = s.scalar(select(Case)).ref
        _, data = build_bundle(s, settings.storage_path, cref)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert {f["kind"]: f["sha256"] for f in manifest["files"]}["clip_recheck"] == clips[0].sha256


def deadline_of(db: Database, ref: str) -> float:
    from streetwarden.store.notice_schema import Notice

    with db.session() as s:
        return float(s.scalar(select(Notice.deadline).where(Notice.ref == ref)))


def test_h265_stream_is_remuxed_from_the_ring(rtsp_media) -> None:  # type: ignore[no-untyped-def]
    """H.265 over RTSP: the ring's packets become an MP4 with the camera's HEVC, every frame, no re-encode."""
    from streetwarden.camera_adapters.clips import RingCutter

    with RtspServer({"/h265": rtsp_media["h265"]}) as server:
        ring = ring_from_rtsp(server.url("/h265"))
        first, last = ring.span()  # type: ignore[misc]
        out = Path(str(rtsp_media["h265"]) + ".clip.mp4")
        info = RingCutter(ring).cut(first + 1.5, last, out)
    codec, width, height, fps = source_video(rtsp_media["h265"])
    facts = clip_facts(out)
    assert codec == "hevc" and (facts["codec"], facts["size"]) == (codec, (width, height))
    assert (info.codec, info.width, info.height) == (codec, width, height)
    assert info.start <= first + 1.5 and abs(facts["frames"] - facts["duration"] * fps) <= 2, (facts, info)


def test_loop_source_cuts_from_the_play_that_was_on_air(tmp_path: Path, short_file: Path) -> None:
    """loop:// plays a file against the wall clock: a clip of Unix times is cut from that play of it."""
    from streetwarden.camera_adapters.looping_file import LoopingFileSource

    src = LoopingFileSource("cam", f"loop://{short_file}", 4.0)
    times = []
    for frame in src.frames():
        times.append(frame.ts)
        if frame.ts - times[0] >= 3.0:
            src.close()
    start, end = times[0] + 1.0, times[-1]
    info = src.clip_cutter().cut(start, end, tmp_path / "loop.mp4")
    facts = clip_facts(tmp_path / "loop.mp4")
    codec, width, height, _ = source_video(short_file)
    assert (facts["codec"], facts["size"]) == (codec, (width, height)) == (info.codec, (info.width, info.height))
    assert info.start <= start and info.end >= end - 0.2 and info.start >= times[0] - 1.1, (info, times[0], times[-1])
    assert abs((info.end - info.start) - (end - start)) < 1.2  # the seconds asked for (from the key frame before)


def test_a_clip_that_cannot_be_made_costs_only_the_clip(tmp_path: Path, vtest_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """vtest.avi is MS-MPEG4, which MP4 cannot hold without re-encoding: one structured log line, the
    candidate says why, its still pictures are all there and the run goes on to the end."""
    import logging

    settings, db = settings_for(tmp_path, str(vtest_path))
    with caplog.at_level(logging.WARNING, logger="streetwarden.evidence"):
        stats = Worker(settings, db, once=True).run()
    assert stats["frames"] >= 79 and stats["errors"] == 0  # the whole 80 s file was analysed
    failed = [r.fields for r in caplog.records if r.getMessage() == "clip_failed"]  # type: ignore[attr-defined]
    # one line per clip: the raise and the arrival (first sight)
    assert sorted(f["kind"] for f in failed) == ["clip", "clip_first"], failed
    assert all("msmpeg4 cannot go into MP4" in f["reason"] and f["camera"] == "cam" for f in failed), failed
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        kinds = sorted(e.kind for e in s.scalars(select(Evidence).where(Evidence.candidate_id == cand.id)))
        assert {"crop", "first", "frame"} <= set(kinds) and not [k for k in kinds if k.startswith("clip")], kinds
        assert cand.attributes["clip"]["status"] == "failed" and "msmpeg4" in cand.attributes["clip"]["reason"]
        assert cand.attributes["clip"]["first_status"] == "failed" and "msmpeg4" in cand.attributes["clip"]["first_reason"]


def test_snapshot_cameras_say_they_have_no_clip(tmp_path: Path, vtest_path: Path) -> None:
    """An image folder stands for a JPEG snapshot camera: no clip, and the candidate says why."""
    import cv2

    folder = tmp_path / "snaps"
    folder.mkdir()
    cap = cv2.VideoCapture(str(vtest_path))
    for i in range(40):
        ok, frame = cap.read()
        for _ in range(9):
            cap.grab()
        assert ok
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), frame)
    cap.release()
    settings, db = settings_for(tmp_path, str(folder))
    Worker(settings, db, once=True).run()
    with db.session() as s:
        cand = s.scalars(select(Candidate)).first()
        assert cand is not None
        assert cand.attributes.get("clip") == {"status": "none", "reason": NO_VIDEO}
        assert not s.scalars(select(Evidence).where(Evidence.kind.like("clip%"))).all()


def test_packet_ring_is_capped_by_seconds_and_bytes_and_starts_at_a_key_frame() -> None:
    ring = PacketRing(seconds=3.0, max_bytes=10_000)
    for i in range(100):  # 10 packets a second, a key frame every 10, 100 bytes each
        ring.add(RingPacket(i / 10, bytes(100), i, i, 1, i % 10 == 0))
    first, last = ring.span()  # type: ignore[misc]
    assert last == pytest.approx(9.9) and last - first <= 3.0 and first == pytest.approx(7.0)
    small = PacketRing(seconds=60.0, max_bytes=2_500)  # bytes bind first: fewer seconds, never more memory
    for i in range(100):
        small.add(RingPacket(i / 10, bytes(100), i, i, 1, i % 10 == 0))
        assert small.size_bytes <= 2_500
    # whole GOPs only: 2 of 1000 bytes fit, a third would not
    assert small.span()[0] == pytest.approx(8.0) and small.dropped_for_bytes > 0  # type: ignore[index]
    assert small.window(9.5, 9.9) is None  # no stream template yet: nothing to write


def test_clip_route_needs_a_login_and_answers_range_requests(tmp_path: Path, short_file: Path) -> None:
    settings, db = settings_for(tmp_path, str(short_file))
    Worker(settings, db, once=True).run()
    add_users(db)
    with db.session() as s:
        clip = s.scalar(select(Evidence).where(Evidence.kind == "clip"))
        data = (settings.storage_path / clip.path).read_bytes()
        url = f"/api/v1/evidence/{clip.id}"
    with LiveServer(settings, db) as srv:
        anon = srv.client()
        assert anon.get(url).status_code == 401
        assert anon.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        for user in ("rev1", "case-system"):  # the roles that may read evidence images read clips too
            c = srv.client(user)
            full = c.get(url)
            assert full.status_code == 200 and full.headers["content-type"] == "video/mp4" and full.content == data
            assert full.headers["accept-ranges"] == "bytes"
            part = c.get(url, headers={"Range": "bytes=100-1099"})
            assert part.status_code == 206 and part.content == data[100:1100]
            assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
            tail = c.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
            assert tail.status_code == 206 and tail.content == data[-10:]
            past = c.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
            assert past.status_code == 416 and past.json()["code"] == "range_not_satisfiable"
            assert past.headers["content-range"] == f"bytes */{len(data)}"
            for bad in ("bytes=abc", "bytes=9-2", "items=0-1", "bytes=-", "bytes="):  # the API's shape, never 5xx
                r = c.get(url, headers={"Range": bad})
                assert r.status_code == 400 and r.json()["code"] == "bad_range" and "bytes=START-END" in r.json()["detail"], bad
            assert c.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]  # the last 10 bytes
