"""A reviewer's class / box correction through the real API on SQLite and a real PostgreSQL server:
stored with the decision and shown with the candidate, audited before → after, replayed identically
for a repeated Idempotency-Key, taken back by undo, and refused with a precise code when bad."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from streetwarden.store.audit import AuditEntry
from streetwarden.store.cameras import sync_cameras
from streetwarden.store.db import Database
from streetwarden.store.review import Decision
from tests.review_support import LiveServer, add_users, make_settings, real_frames, seed_candidates

BOX = [0.1, 0.2, 0.45, 0.8]


def _world(tmp_path, vtest_path, database_url: str, undo: float = 0.0):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, vtest_path, undo_seconds=undo)
    settings.database = database_url
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    return settings, db, seed_candidates(db, settings.storage_path, real_frames(vtest_path, 2), 4)


def _audit(db: Database, cid: int, action: str) -> list[dict]:
    with db.session() as s:
        return [e.details for e in s.scalars(select(AuditEntry).where(
            AuditEntry.target_type == "candidate", AuditEntry.target_id == str(cid), AuditEntry.action == action)
            .order_by(AuditEntry.id))]


def test_correction_is_stored_shown_audited_and_replayed(tmp_path, vtest_path, database_url) -> None:
    settings, db, (a, b, c, _) = _world(tmp_path, vtest_path, database_url)
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        # the queue offers the candidate's own class first, then what its rule (sidewalk parking) watches
        claimed = rev.post("/api/v1/candidates/claim", json={"count": 4}).json()["items"]
        assert claimed[0]["class_choices"][0] == "truck" and "car" in claimed[0]["class_choices"]
        body = {"decision": "warn", "correction": {"label": "car", "box": BOX}}
        first = rev.post(f"/api/v1/candidates/{a}/decision", json=body, headers={"Idempotency-Key": "fix-a"})
        assert first.status_code == 200, first.text
        assert first.json()["correction"] == {"label": "car", "box": BOX}
        again = rev.post(f"/api/v1/candidates/{a}/decision", json=body, headers={"Idempotency-Key": "fix-a"})
        assert again.status_code == 200 and again.json() == first.json()
        # the same key with another correction is another request: refused, nothing changes
        other = {"decision": "warn", "correction": {"label": "bus", "box": BOX}}
        assert rev.post(f"/api/v1/candidates/{a}/decision", json=other,
                        headers={"Idempotency-Key": "fix-a"}).status_code == 422
        shown = rev.get(f"/api/v1/candidates/{a}").json()
        assert shown["decision"]["correction"] == {"label": "car", "box": BOX}
        # only the class, on a wrong-class reject; only the box, on a case; none at all
        r = rev.post(f"/api/v1/candidates/{b}/decision",
                     json={"decision": "reject", "reason": "false_detection", "correction": {"label": "tricycle"}})
        assert r.status_code == 200 and r.json()["correction"] == {"label": "tricycle", "box": None}, r.text
        r = rev.post(f"/api/v1/candidates/{c}/decision", json={"decision": "case", "correction": {"box": BOX}})
        assert r.status_code == 200 and r.json()["correction"] == {"label": None, "box": BOX}, r.text
    with db.session() as s:
        stored = {d.candidate_id: (d.corrected_label, d.corrected_box) for d in s.scalars(select(Decision))}
    assert stored == {a: ("car", BOX), b: ("tricycle", None), c: (None, BOX)}
    # one audit entry per decision (the replay wrote none), with the detector's class and box before
    [entry] = _audit(db, a, "candidate.decide")
    before = [round(v, 6) for v in (651.7 / 768, 42.0 / 576, 724.9 / 768, 99.4 / 576)]
    assert entry["correction"]["before"]["label"] == "truck"
    assert entry["correction"]["before"]["box"] == pytest.approx(before, abs=1e-5)
    assert entry["correction"]["after"] == {"label": "car", "box": BOX}
    [entry] = _audit(db, c, "candidate.decide")
    assert entry["correction"]["after"]["label"] == "truck" and entry["correction"]["after"]["box"] == BOX


def test_undo_takes_the_correction_back(tmp_path, vtest_path) -> None:
    settings, db, (a, *_) = _world(tmp_path, vtest_path, f"sqlite:///{tmp_path / 'sw.db'}", undo=300.0)
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        body = {"decision": "warn", "correction": {"label": "car", "box": BOX}}
        assert rev.post(f"/api/v1/candidates/{a}/decision", json=body).status_code == 200
        assert rev.post(f"/api/v1/candidates/{a}/decision/undo").status_code == 200
        shown = rev.get(f"/api/v1/candidates/{a}").json()
        assert shown["status"] == "pending" and shown["decision"] is None
        with db.session() as s:
            assert s.scalar(select(Decision).where(Decision.candidate_id == a)) is None
        # decided again without a correction: none comes back from the undone one
        r = rev.post(f"/api/v1/candidates/{a}/decision", json={"decision": "warn"})
        assert r.status_code == 200 and r.json()["correction"] is None
        assert rev.get(f"/api/v1/candidates/{a}").json()["decision"]["correction"] is None
    decides = _audit(db, a, "candidate.decide")
    assert [("correction" in d) for d in decides] == [True, False]
    assert len(_audit(db, a, "candidate.undo")) == 1


@pytest.mark.parametrize(("body", "code", "words"), [
    ({"decision": "warn", "correction": {"label": "spaceship"}}, "correction_unknown_class", "correction.label"),
    ({"decision": "warn", "correction": {"box": [0.5, 0.2, 0.4, 0.8]}}, "correction_bad_box", "x1 < x2"),
    ({"decision": "warn", "correction": {"box": [0.1, 0.5, 0.4, 0.5]}}, "correction_bad_box", "y1 < y2"),
    ({"decision": "warn", "correction": {"box": [0.1, 0.2, 1.4, 0.8]}}, "correction_bad_box", "0-1"),
    ({"decision": "warn", "correction": {"box": [-0.1, 0.2, 0.4, 0.8]}}, "correction_bad_box", "0-1"),
    ({"decision": "warn", "correction": {"box": [0.1, 0.2, 0.105, 0.8]}}, "correction_bad_box", "at least"),
    ({"decision": "warn", "correction": {}}, "correction_empty", "correction"),
    ({"decision": "skip", "correction": {"label": "car"}}, "correction_not_allowed", "skip"),
    ({"decision": "warn", "correction": {"box": [0.1, 0.2, 0.4]}}, "invalid_request", "correction.box"),
    ({"decision": "warn", "correction": {"label": "car", "colour": "red"}}, "invalid_request", "correction.colour"),
    ({"decision": "warn", "correction": "car"}, "invalid_request", "correction"),
])
def test_bad_corrections_are_refused_with_a_code(tmp_path, vtest_path, body, code, words) -> None:
    settings, db, (a, *_) = _world(tmp_path, vtest_path, f"sqlite:///{tmp_path / 'sw.db'}")
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        r = rev.post(f"/api/v1/candidates/{a}/decision", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code and words in r.json()["detail"], r.json()
        assert rev.get(f"/api/v1/candidates/{a}").json()["status"] == "pending"  # nothing was decided
