"""The undo window through the real API, a real webhook deliverer thread and a real HTTP receiver: an
undone warn / case leaves no notice, case or webhook; a kept one goes out only after its window; after
the window only a supervisor can withdraw the notice, with a reason, and the case system is told
(webhook + pull API status); the audit log records decide, undo and withdraw."""

from __future__ import annotations

from sqlalchemy import select

from streetwarden.pipeline.webhooks import WebhookDeliverer
from streetwarden.store.audit import AuditEntry
from streetwarden.store.cameras import sync_cameras
from streetwarden.store.db import Database
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.review import Claim, Decision
from streetwarden.store.schema import Candidate
from tests.enforcement_support import SECRET, Receiver, free_port
from tests.review_support import LiveServer, add_users, make_settings, real_frames, seed_candidates
from tests.waiting import wait_for

WINDOW = 8.0  # long enough for the undo request on a loaded machine; the kept decision waits it out once


def _world(tmp_path, vtest_path, monkeypatch):
    monkeypatch.setenv("STREETWARDEN_WEBHOOK_SECRET", SECRET)
    settings = make_settings(tmp_path, vtest_path, undo_seconds=WINDOW)
    receiver = Receiver(free_port()).start()
    settings.webhooks.url = f"http://127.0.0.1:{receiver.port}/hooks"
    settings.webhooks.poll_seconds = 0.1
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    ids = seed_candidates(db, settings.storage_path, real_frames(vtest_path, 2), 3)
    return settings, db, receiver, ids


def test_undo_leaves_nothing_and_kept_decisions_wait_for_the_window(tmp_path, vtest_path, monkeypatch):
    settings, db, receiver, (a, b, c) = _world(tmp_path, vtest_path, monkeypatch)
    deliverer = WebhookDeliverer(db, settings.webhooks).start()
    try:
        with LiveServer(settings, db) as server:
            rev1, rev2, cs = server.client("rev1"), server.client("rev2"), server.client("case-system")
            assert rev1.post("/api/v1/candidates/claim", json={"count": 3}).status_code == 200
            r = rev1.post(f"/api/v1/candidates/{a}/decision", json={"decision": "warn"}, headers={"Idempotency-Key": "ka"})
            assert r.status_code == 200 and r.json()["undo_until"], r.text
            r = rev1.post(f"/api/v1/candidates/{c}/decision", json={"decision": "case"})
            assert r.status_code == 200, r.text
            # held: the notice and case exist but the case system cannot see them yet
            with db.session() as s:
                held = {n.candidate_id: n.ref for n in s.scalars(select(Notice)).all()}
                assert set(held) == {a}
                assert s.scalar(select(Case.ref).where(Case.candidate_id == c))
            assert cs.get("/api/v1/notices").json()["items"] == []
            assert cs.get("/api/v1/cases").json()["items"] == []
            # someone else cannot undo it; its reviewer can
            assert rev2.post(f"/api/v1/candidates/{a}/decision/undo").status_code == 403
            for cid in (a, c):
                r = rev1.post(f"/api/v1/candidates/{cid}/decision/undo")
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "pending" and len(r.json()["withdrawn"]) == 1
            r = rev1.post(f"/api/v1/candidates/{a}/decision/undo")
            assert r.status_code == 409 and "no decision" in r.json()["detail"]
            assert rev1.post("/api/v1/candidates/999999/decision/undo").status_code == 404
            with db.session() as s:
                for cid in (a, c):
                    assert s.get(Candidate, cid).status == "pending"
                    assert s.scalar(select(Claim.user_id).where(Claim.candidate_id == cid)) is not None
                    assert s.scalar(select(Decision).where(Decision.candidate_id == cid)) is None
                assert s.scalars(select(Notice)).all() == [] and s.scalars(select(Case)).all() == []
                assert s.scalars(select(OutboxMessage)).all() == []
            # a retry of the undone request's key replays its old answer and decides nothing again
            r = rev1.post(f"/api/v1/candidates/{a}/decision", json={"decision": "warn"}, headers={"Idempotency-Key": "ka"})
            assert r.status_code == 200
            with db.session() as s:
                assert s.get(Candidate, a).status == "pending"

            # b is kept: its webhook leaves only after the window, and it is the only one that ever leaves
            r = rev1.post(f"/api/v1/candidates/{b}/decision", json={"decision": "warn"})
            assert r.status_code == 200
            with db.session() as s:
                decided_at = s.scalar(select(Decision.decided_at).where(Decision.candidate_id == b))
            got = wait_for(lambda: receiver.accepted(), timeout=WINDOW + 30)
            assert [p["event"] for p in got] == ["notice.created"]
            assert got[0]["body"]["data"]["candidate_id"] == b

            def delivered_at() -> float | None:
                # the row is marked delivered only after the receiver has answered: wait for that commit
                with db.session() as s:
                    return s.scalars(select(OutboxMessage)).one().delivered_at

            delivered = wait_for(delivered_at, timeout=30)
            assert delivered is not None, "the outbox row was never marked delivered"
            assert delivered >= decided_at + WINDOW
            ref = got[0]["body"]["data"]["ref"]
            assert [n["ref"] for n in cs.get("/api/v1/notices").json()["items"]] == [ref]
            r = rev1.post(f"/api/v1/candidates/{b}/decision/undo")
            assert r.status_code == 409 and "supervisor" in r.json()["detail"]

            # withdrawn by a supervisor with a reason; reviewers may not, and a reason is required
            assert rev1.post(f"/api/v1/notices/{ref}/withdraw", json={"reason": "x"}).status_code == 403
            sup = server.client("sup")
            for body in ({}, {"reason": "   "}, {"reason": "x", "extra": 1}):
                r = sup.post(f"/api/v1/notices/{ref}/withdraw", json=body)
                assert r.status_code == 422, (body, r.text)
                assert "reason" in r.text or "extra" in r.text
            assert sup.post("/api/v1/notices/SW-N-999999/withdraw", json={"reason": "x"}).status_code == 404
            r = sup.post(f"/api/v1/notices/{ref}/withdraw", json={"reason": "执法车辆，误判"})
            assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
            assert sup.post(f"/api/v1/notices/{ref}/withdraw", json={"reason": "again"}).status_code == 409
            told = wait_for(lambda: [p for p in receiver.accepted() if p["event"] == "notice.withdrawn"])
            assert len(told) == 1 and told[0]["body"]["data"]["note"] == "执法车辆，误判"
            assert told[0]["body"]["data"]["status"] == "withdrawn"
            pulled = cs.get("/api/v1/notices", params={"status": "withdrawn"}).json()["items"]
            assert [n["ref"] for n in pulled] == [ref]

            audit = server.client("adm").get("/api/v1/audit", params={"limit": 200}).json()["items"]
            actions = [(e["action"], e["target_id"]) for e in audit]
            assert actions.count(("candidate.decide", str(a))) == 1
            assert actions.count(("candidate.undo", str(a))) == 1
            assert actions.count(("candidate.undo", str(c))) == 1
            assert ("notice.withdraw", ref) in actions
            assert not any(e["action"] == "candidate.undo" and e["target_id"] == str(b) for e in audit)
    finally:
        deliverer.stop()
        receiver.stop()


def test_no_undo_when_the_window_is_zero(tmp_path, vtest_path):
    settings = make_settings(tmp_path, vtest_path)  # undo_seconds 0
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    (a,) = seed_candidates(db, settings.storage_path, real_frames(vtest_path, 1), 1)
    with LiveServer(settings, db) as server:
        rev1 = server.client("rev1")
        r = rev1.post(f"/api/v1/candidates/{a}/decision", json={"decision": "reject", "reason": "other"})
        assert r.status_code == 200 and r.json()["undo_until"] is None
        r = rev1.post(f"/api/v1/candidates/{a}/decision/undo")
        assert r.status_code == 409 and "closed" in r.json()["detail"]
    with db.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "candidate.undo")) is None
