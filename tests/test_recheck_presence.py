"""Re-check decisions on real vtest frames through the RecheckService and a LiveBoard fed with the
real YOLOX detections: a left-behind object (the yellow cloth lying on the grass, which the COCO
model does not name) is judged by comparing its place with the evidence crop; removing it with
OpenCV inpainting (the same method as the van) makes it 'gone'. Stale frames postpone."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from streetwarden.camera_adapters import SourceHealth
from tests.enforcement_support import make_settings, open_db, raise_candidate, vtest_frame
from streetwarden.pipeline.recheck import LiveBoard, RecheckService
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate, Evidence

CLOTH = (68, 495, 160, 530)


def dumping_notice(tmp_path, vtest_path, database: str | None = None, **over):
    settings = make_settings(tmp_path, notices={"grace_seconds": {"illegal_dumping": 0}, "max_frame_age_seconds": 5, **over},
                             **({"database": database} if database else {}))
    db = open_db(settings)
    cid = raise_candidate(db, settings, vtest_frame(vtest_path, 300), zone_id="grass-1", violation="illegal_dumping",
                          label="unknown", box=CLOTH)
    with db.session() as s:
        ref = issue_from_decision(s, s.get(Candidate, cid), "warn", "alice", settings).ref
    return settings, db, ref


def remove(frame: np.ndarray, box, pad: int = 6) -> np.ndarray:
    mask = np.zeros(frame.shape[:2], np.uint8)
    x1, y1, x2, y2 = box
    mask[y1 - pad:y2 + pad, x1 - pad:x2 + pad] = 255
    return cv2.inpaint(frame, mask, 7, cv2.INPAINT_TELEA)


@pytest.mark.parametrize("gone", [False, True])
def test_left_behind_object_judged_against_evidence(tmp_path, vtest_path, yolox, gone, database_url):
    settings, db, ref = dumping_notice(tmp_path, vtest_path, database=database_url)
    frame = vtest_frame(vtest_path, 700)
    if gone:
        frame = remove(frame, CLOTH)
    board = LiveBoard()
    board.record("west-gate", 70.0, frame, yolox.detect(frame))
    out = RecheckService(db, settings, board).run_due()
    assert [o["notice"] for o in out] == [ref]
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert "correlation" in n.recheck_note
        if gone:
            assert out[0]["outcome"] == "complied" and n.status == "complied"
        else:
            assert out[0]["outcome"] == "case" and n.status == "escalated"
            assert s.scalar(select(Case).where(Case.notice_id == n.id)).origin == "escalation"
        ev = s.get(Evidence, n.recheck_evidence_id)
        saved = cv2.imread(str(settings.storage_path / ev.path))
        assert saved.shape == frame.shape and ev.kind == "recheck"


def test_stale_or_early_frames_postpone(tmp_path, vtest_path, yolox):
    settings, db, ref = dumping_notice(tmp_path, vtest_path)
    frame = vtest_frame(vtest_path, 700)
    clock = [time.time()]
    board = LiveBoard(clock=lambda: clock[0])
    svc = RecheckService(db, settings, board, clock=lambda: clock[0])
    # a worker that does not run this camera leaves its notices alone
    assert svc.run_due() == []
    other = LiveBoard()
    other.register("east-gate", SourceHealth(state="online"))
    assert RecheckService(db, settings, other).run_due() == []
    with db.session() as s:
        assert s.scalar(select(Notice).where(Notice.ref == ref)).recheck_attempts == 0
    # this camera, but no frame at all: the camera is down
    board.register("west-gate", SourceHealth(state="reconnecting", reason="connection refused"))
    out = svc.run_due()
    assert out[0]["outcome"] == "postponed" and "no frame yet (reconnecting: connection refused)" in out[0]["reason"]
    # a frame from before the deadline does not count
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        deadline, n.next_check_at = n.deadline, 0.0
    board = LiveBoard(clock=lambda: deadline - 1)
    board.record("west-gate", 1.0, frame, yolox.detect(frame))
    out = RecheckService(db, settings, board, clock=lambda: clock[0]).run_due()
    assert out[0]["outcome"] == "postponed" and "since the deadline" in out[0]["reason"]
    # a frame that stopped coming a while ago: the camera counts as offline
    with db.session() as s:
        s.scalar(select(Notice).where(Notice.ref == ref)).next_check_at = 0.0
    board = LiveBoard(clock=lambda: clock[0])
    board.record("west-gate", 1.0, frame, yolox.detect(frame))
    clock[0] += 60
    out = RecheckService(db, settings, board, clock=lambda: clock[0]).run_due()
    assert out[0]["outcome"] == "postponed" and "s old" in out[0]["reason"]
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "open" and n.recheck_attempts == 3 and n.next_check_at == pytest.approx(clock[0] + 60)


def test_online_camera_without_a_fresh_frame_is_waited_for_not_postponed(tmp_path, vtest_path, yolox):
    """A camera that is up but whose first frame after the deadline is still in the model is not
    'offline': the re-check waits for that frame (up to max_frame_age_seconds), then decides on it."""
    settings, db, ref = dumping_notice(tmp_path, vtest_path)
    with db.session() as s:
        deadline = s.scalar(select(Notice).where(Notice.ref == ref)).deadline
    clock = [deadline + 1]
    board = LiveBoard(clock=lambda: clock[0])
    board.register("west-gate", SourceHealth(state="online"))
    svc = RecheckService(db, settings, board, clock=lambda: clock[0])
    out = svc.run_due()
    assert out[0]["outcome"] == "waiting"
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "open" and n.recheck_attempts == 0 and not n.recheck_note
    frame = vtest_frame(vtest_path, 700)
    board.record("west-gate", 70.0, frame, yolox.detect(frame))
    out = svc.run_due()
    assert out[0]["outcome"] == "case"
    # a camera that stays silent past max_frame_age_seconds is postponed as offline, with the reason
    settings2, db2, ref2 = dumping_notice(tmp_path / "b", vtest_path)
    with db2.session() as s:
        deadline = s.scalar(select(Notice).where(Notice.ref == ref2)).deadline
    clock = [deadline + 1]
    board = LiveBoard(clock=lambda: clock[0])
    board.register("west-gate", SourceHealth(state="online"))
    svc = RecheckService(db2, settings2, board, clock=lambda: clock[0])
    assert svc.run_due()[0]["outcome"] == "waiting"
    clock[0] += settings2.notices.max_frame_age_seconds + 1
    out = svc.run_due()
    assert out[0]["outcome"] == "postponed" and "no frame yet (online)" in out[0]["reason"]
