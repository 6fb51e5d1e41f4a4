"""P-frame sizes as motion evidence before decoding (pipeline/stream_bytes.py, gating.stream_bytes).

The main clip (tests/stream_bytes_replay.py: visit_then_park) is real footage of a street made
still: a red car visits the kerb, leaves, and comes back to park. The first visit teaches the camera
what its bytes look like when the kerb changes; while the street is still, key frames are then not
even decoded. A bitrate-capped clip with people all over the view shows the bytes refused.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from streetwarden.camera_adapters.frame import Frame
from streetwarden.config import ConfigError, GatingConfig, ZoneConfig, parse_settings
from streetwarden.pipeline.metrics import metrics_text
from streetwarden.pipeline.motion_gate import MotionGate
from streetwarden.pipeline.stream_bytes import StreamBytesTest
from streetwarden.detectors.events import CandidateEvent, EvidenceImage
from streetwarden.pipeline.worker import Worker, undecoded_evidence
from streetwarden.store.db import Database
from streetwarden.store.schema import Candidate, Evidence
from tests.conftest import shared_path
from tests.rtsp_server import RtspServer, transcode
from tests.stream_bytes_replay import QUIET_A, SECOND_ARRIVAL, replay, visit_then_park
from tests.test_motion_gate import ARRIVE, FPS, PARKING_ZONE
from tests.waiting import wait_for

DWELL = 15.0
KERB = [ZoneConfig(id="kerb", kind="sidewalk", dwell_seconds=DWELL, polygon=PARKING_ZONE)]


@pytest.fixture(scope="module")
def vbr_clip(tmp_path_factory) -> Path:
    return visit_then_park(tmp_path_factory.mktemp("stream-bytes"))


@pytest.fixture(scope="module")
def capped_clip(tmp_path_factory) -> Path:
    """vtest.avi as the bench's cameras send it: bitrate-capped, sensor noise, people all over the view."""
    return transcode(shared_path("media", "vtest.avi"), tmp_path_factory.mktemp("capped") / "vtest-capped.mp4",
                     width=768, height=576, gop=10, bitrate="1M", noise=6, seconds=60)


def test_still_street_skips_decodes_and_misses_nothing(vbr_clip: Path) -> None:
    cfg = GatingConfig(enabled=True, stream_bytes=True, full_run_seconds=10)
    r = replay(vbr_clip, 1.0, cfg, KERB)
    assert r.missed == [], r  # no key frame the pixel test would have called a change went undecoded
    assert r.first_trusted is not None and r.first_trusted < SECOND_ARRIVAL, r  # learned from the first visit
    # most still key frames after the lesson skip their decode (the full runs still decode)
    assert r.decode_skips >= 0.4 * r.analysed, r
    plain = replay(vbr_clip, 1.0, GatingConfig(enabled=True, full_run_seconds=10), KERB)
    assert plain.decode_skips == 0 and plain.analysed == r.analysed
    assert r.model_runs == plain.model_runs  # the bytes skip only what the pixel test skips too


def test_bytes_that_do_not_follow_the_zone_are_never_trusted(capped_clip: Path) -> None:
    """People walk everywhere but in the kerb zone: the view's bytes say nothing about the zone."""
    cfg = GatingConfig(enabled=True, stream_bytes=True)
    zone = [ZoneConfig(id="van", kind="sidewalk", polygon=[[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]])]
    r = replay(capped_clip, 1.0, cfg, zone)
    assert r.still_seen >= cfg.stream_bytes_learn and r.changed_seen >= cfg.stream_bytes_learn, r  # it did learn
    assert r.decode_skips == 0, r


def test_rule_trusts_only_what_the_pixel_test_confirms() -> None:
    cfg = GatingConfig(enabled=True, stream_bytes=True, full_run_seconds=10, stream_bytes_ratio=2, stream_bytes_learn=3)
    gate = MotionGate(cfg)
    rule = StreamBytesTest(cfg, gate)
    gate._ref_ts = 0.0  # the model last ran at t=0
    assert rule.decode_needed(1.0, 100.0)  # nothing learned yet
    for b in (100.0, 120.0, 110.0):
        rule.learn(b, False)
    for b in (900.0, 1500.0):
        rule.learn(b, True)
    assert rule.threshold() is None and rule.decode_needed(1.0, 100.0)  # two changes seen: not enough
    rule.learn(700.0, True)
    assert rule.threshold() == pytest.approx(200.0)  # 2 x the stillest interval
    assert not rule.decode_needed(1.0, 150.0)
    assert rule.decode_needed(2.0, 250.0)  # above the limit
    assert not rule.decode_needed(3.0, 180.0) and rule.decode_needed(4.0, 190.0)  # 80 + 90 over quiet: a slow change adds up
    assert rule.decode_needed(10.0, 100.0)  # the full run decodes whatever the bytes say
    assert rule.decode_needed(1.0, None)  # no inter frames counted (a stream of key frames only)
    rule.learn(180.0, True)  # a change that came with few bytes: trust is withdrawn at once
    assert rule.threshold() is None and rule.decode_needed(5.0, 100.0)
    rule.learn(None, True)
    rule.learn(500.0, None)  # frames the pixel test did not judge teach nothing
    assert rule.skips == 2
    for b in (100.0, 110.0, 120.0):
        rule.learn(b, False)
    rule.reset()  # the zones changed: learned again from scratch
    assert rule.threshold() is None and rule.decode_needed(6.0, 10.0)
    gate.set_zones([])  # and the gate's next frame is decoded whatever the bytes say
    assert gate.reference_ts == -float("inf")


def ungated_raise(tmp: Path, clip: Path) -> float:
    """When the file itself, every analysed frame through the model, raises the parked car."""
    settings = parse_settings({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
        "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
        "cameras": [{"id": "file", "source": str(clip), "analysis_fps": 1,
                     "zones": [{"id": "kerb", "kind": "sidewalk", "dwell_seconds": DWELL, "polygon": PARKING_ZONE}]}],
    }, base_dir=tmp)
    db = Database(settings.database_url)
    db.upgrade()
    Worker(settings, db, once=True).run()
    with db.session() as s:
        (cand,) = s.scalars(select(Candidate)).all()
        return min(e.ts for e in cand.evidence if e.kind == "frame")


@pytest.mark.timeout(300)
def test_live_camera_skips_decodes_and_raises_the_car_on_time(tmp_path: Path, vbr_clip: Path) -> None:
    with RtspServer({"/cam": vbr_clip}) as server:
        settings = parse_settings({
            "database": f"sqlite:///{tmp_path / 'sw.db'}", "storage": str(tmp_path / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "gating": {"enabled": True, "full_run_seconds": 10, "stream_bytes": True},
            "cameras": [{"id": "kerb-cam", "source": server.url("/cam"), "analysis_fps": 1, "timeout_seconds": 5,
                         "zones": [{"id": "kerb", "kind": "sidewalk", "dwell_seconds": DWELL, "polygon": PARKING_ZONE}]}],
        }, base_dir=tmp_path)
        db = Database(settings.database_url)
        db.upgrade()
        worker = Worker(settings, db, reload_seconds=1.0)
        runner = worker.runners[0]
        seen: list[tuple[float, bool]] = []  # (ts, decoded) of every frame the engine got
        opened: list[float] = []
        process = runner.engine.process

        def recording(ts, image, dets):  # type: ignore[no-untyped-def]
            events = process(ts, image, dets)
            opened.extend(ts for e in events if e.kind == "open")
            return events

        runner.engine.process = recording
        skip = worker.skip_unchanged

        def noting(batch):  # type: ignore[no-untyped-def]
            for _, f in batch:
                seen.append((f.ts, f.decoded))
            return skip(batch)

        worker.skip_unchanged = noting
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            assert wait_for(lambda: opened, timeout=SECOND_ARRIVAL + len(ARRIVE) / FPS + DWELL + 60), "the car was never raised"
            time.sleep(2)
            health = next(h for h in worker.health.snapshot() if h["camera_id"] == "kerb-cam")
            metrics = metrics_text(worker).decode()
        finally:
            worker.stop()
            thread.join(30)
    assert not thread.is_alive()
    decoded_at = dict(seen)
    start = seen[0][0]  # the first analysed key frame: within a second of the stream's start
    raised = opened[0] - start
    # on time: when the same clip raises from the file with no gating at all, give or take the live
    # camera's key-frame grid and phase (its first analysed key frame comes up to a second late) and a key
    # frame or two a busy machine may drop; a change the bytes hid would cost up to full_run_seconds (10)
    plain = ungated_raise(tmp_path / "plain", vbr_clip)
    assert plain - 2.5 <= raised <= plain + 3.0, (raised, plain)
    assert len(opened) == 1
    skipped = [ts - start for ts, d in seen if not d]
    assert skipped, "no key frame skipped its decode"
    assert any(QUIET_A < t < raised for t in skipped), skipped  # in use before the raise, not only after it
    assert health["decode_skips"] == len(skipped) and health["model_skips"] >= len(skipped)
    assert f'streetwarden_camera_decode_skips_total{{camera="kerb-cam"}} {float(len(skipped))}' in metrics
    with db.session() as s:
        (cand,) = s.scalars(select(Candidate)).all()
        pictures = [(e.kind, e.ts) for e in s.scalars(select(Evidence).where(Evidence.candidate_id == cand.id))
                    if e.media_type == "image/jpeg"]  # (a clip's time is its first packet's, decoded or not)
    # every picture is stamped with the time it was captured: a decoded key frame, never a skipped one's time
    assert {k for k, _ in pictures} >= {"frame", "crop"}
    assert all(decoded_at.get(t) is True for _, t in pictures), [(k, round(t - start, 2), decoded_at.get(t)) for k, t in pictures]


def test_evidence_of_an_undecoded_frame_carries_its_pictures_time() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    frame = Frame("c", 120.0, image, live=True, run_model=False, decoded=False, picture_ts=112.0)
    box = np.array([0, 0, 2, 2], np.float32)
    event = CandidateEvent("open", "i1", "c", "kerb", "illegal_parking", "car", 0.9, box, 100.0, 120.0, True,
                           evidence=[EvidenceImage("frame", image, 120.0, box), EvidenceImage("first", image, 100.0, box)])
    undecoded_evidence([event], frame)
    assert [(e.kind, e.ts) for e in event.evidence] == [("frame", 112.0), ("first", 100.0)]
    assert "last decoded picture" in (event.evidence[0].note or "")


@pytest.mark.parametrize("field,value", [("stream_bytes_ratio", 1.0), ("stream_bytes_learn", 0), ("stream_bytes", "often")])
def test_bad_stream_bytes_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"gating": {field: value}})
    assert f"gating.{field}" in str(err.value)
