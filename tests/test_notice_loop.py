"""The warn -> grace -> re-check loop on real footage with the real YOLOX model.

A sidewalk zone is drawn under the van parked at the top right of vtest.avi; the worker raises a
candidate from the clip, a reviewer warns, and after the grace period the camera is shown real
frames again:
- still there: later frames of the same clip (the van never leaves) -> the notice becomes a case;
- gone: the same frames with the van removed by OpenCV inpainting (Telea, the van's box plus a
  margin filled from the surrounding wall and road; vtest has no frame without the van, so this is
  how a 'gone' view of the real scene is made) -> the notice closes as complied;
- offline: the camera's source cannot be read -> the re-check is postponed and says why.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import issue_from_decision, supervisor_decide
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.config import parse_settings

VAN_REGION = (644, 34, 731, 106)  # x1, y1, x2, y2 of the parked van plus a margin, in vtest pixels
RECHECK_FRAMES = (600, 620, 640, 660)


def make_settings(root: Path, source: str, **over):
    data = {
        "database": f"sqlite:///{root / 'sw.db'}",
        "storage": str(root / "data"),
        "cameras": [{
            "id": "west-gate", "name": "西门", "source": source, "analysis_fps": 2,
            "address": "示例路 1 号西门", "latitude": 31.2304, "longitude": 121.4737,
            "zones": [{"id": "walk-1", "name": "西门人行道", "kind": "sidewalk", "dwell_seconds": 30,
                       "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}],
        }],
        "notices": {"grace_seconds": {"sidewalk_parking": 1.0}, "check_every_seconds": 0.2},
    }
    data.update(over)
    return parse_settings(data, base_dir=root)


def write_frames(vtest: Path, folder: Path, remove_van: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(vtest))
    for i in RECHECK_FRAMES:
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, image = cap.read()
        assert ok, f"cannot read frame {i} of {vtest}"
        if remove_van:
            mask = np.zeros(image.shape[:2], np.uint8)
            x1, y1, x2, y2 = VAN_REGION
            mask[y1:y2, x1:x2] = 255
            image = cv2.inpaint(image, mask, 7, cv2.INPAINT_TELEA)
        cv2.imwrite(str(folder / f"frame-{i:04d}.png"), image)
    cap.release()
    return folder


@pytest.fixture(scope="module")
def raised(tmp_path_factory, vtest_path) -> Path:
    """A database with the van's candidate, raised by the worker from the whole clip."""
    root = tmp_path_factory.mktemp("raised")
    settings = make_settings(root, str(vtest_path))
    db = Database(settings.database_url)
    db.upgrade()
    stats = Worker(settings, db, once=True).run()
    assert stats["frames"] > 100
    db.engine.dispose()
    return root


@pytest.fixture()
def deployment(raised: Path, tmp_path: Path) -> Path:
    shutil.copy(raised / "sw.db", tmp_path / "sw.db")
    shutil.copytree(raised / "data", tmp_path / "data")
    return tmp_path


def warn_van(settings, db: Database) -> str:
    with db.session() as s:
        cand = s.scalars(select(Candidate).where(Candidate.violation == "sidewalk_parking")).all()
        assert len(cand) == 1, [(c.label, c.box) for c in cand]
        c = cand[0]
        assert c.label in ("car", "truck", "bus") and c.box[0] > 600 and c.box[3] < 130, (c.label, c.box)
        notice = issue_from_decision(s, c, "warn", "alice", settings)
        assert isinstance(notice, Notice)
        return notice.ref


def test_van_still_there_becomes_case(deployment: Path, vtest_path: Path) -> None:
    settings = make_settings(deployment, str(vtest_path))
    db = Database(settings.database_url)
    ref = warn_van(settings, db)
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "open" and n.grace_seconds == 1.0 and n.deadline == pytest.approx(n.issued_at + 1.0)
        assert (n.address, n.latitude, n.longitude) == ("示例路 1 号西门", 31.2304, 121.4737)
        assert n.last_seen > n.first_seen >= 0 and not n.live
    time.sleep(1.1)  # the grace period passes; then the camera shows the place again
    frames = write_frames(vtest_path, deployment / "later", remove_van=False)
    Worker(make_settings(deployment, str(frames)), db, once=True).run()
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "escalated" and n.close_reason == "escalated", n.recheck_note
        assert "overlaps the notice box" in n.recheck_note
        case = s.scalar(select(Case).where(Case.notice_id == n.id))
        assert case is not None and case.origin == "escalation" and case.status == "open"
        assert case.ref.startswith("SW-C-") and case.address == n.address and case.box == n.box
        assert [h.to_status for h in case.history] == ["open"]
        ev = s.get(Evidence, n.recheck_evidence_id)
        assert ev.kind == "recheck" and "still there" in ev.note
        data = (deployment / "data" / ev.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == ev.sha256


def test_van_gone_closes_as_complied(deployment: Path, vtest_path: Path) -> None:
    settings = make_settings(deployment, str(vtest_path))
    db = Database(settings.database_url)
    ref = warn_van(settings, db)
    time.sleep(1.1)
    frames = write_frames(vtest_path, deployment / "gone", remove_van=True)
    Worker(make_settings(deployment, str(frames)), db, once=True).run()
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "complied" and n.close_reason == "complied" and n.closed_at is not None, n.recheck_note
        assert "no " in n.recheck_note and "overlaps" in n.recheck_note
        assert s.scalar(select(Case).where(Case.candidate_id == n.candidate_id)) is None
        ev = s.get(Evidence, n.recheck_evidence_id)
        assert ev.kind == "recheck" and "gone" in ev.note
        assert ev.ts in {i / 2 for i in range(len(RECHECK_FRAMES))}  # a frame the camera showed after the deadline


def test_offline_camera_postpones_and_never_closes(deployment: Path, vtest_path: Path) -> None:
    settings = make_settings(deployment, str(vtest_path))
    db = Database(settings.database_url)
    ref = warn_van(settings, db)
    time.sleep(1.1)
    before = time.time()
    Worker(make_settings(deployment, str(deployment / "no-such-clip.avi")), db, once=True).run()
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "open" and n.closed_at is None
        assert "postponed" in n.recheck_note and "no frame" in n.recheck_note and "error" in n.recheck_note, n.recheck_note
        assert n.next_check_at >= before + settings.notices.postpone_seconds - 1
        assert n.recheck_attempts == 1 and n.recheck_evidence_id is None


def test_supervisor_decides_when_configured(deployment: Path, vtest_path: Path) -> None:
    over = {"notices": {"grace_seconds": {"sidewalk_parking": 1.0}, "check_every_seconds": 0.2, "on_persist": "supervisor"}}
    settings = make_settings(deployment, str(vtest_path), **over)
    db = Database(settings.database_url)
    ref = warn_van(settings, db)
    time.sleep(1.1)
    frames = write_frames(vtest_path, deployment / "later", remove_van=False)
    Worker(make_settings(deployment, str(frames), **over), db, once=True).run()
    with db.session() as s:
        n = s.scalar(select(Notice).where(Notice.ref == ref))
        assert n.status == "awaiting_supervisor" and s.scalar(select(Case)) is None
        case = supervisor_decide(s, ref, "escalate", "sam", settings, note="persisting after warning")
        assert isinstance(case, Case) and case.origin == "supervisor" and case.created_by == "sam"
    with db.session() as s:
        assert s.scalar(select(Notice).where(Notice.ref == ref)).status == "escalated"
