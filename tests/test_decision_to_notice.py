"""A reviewer's decision through the real API issues the notice or case (and its webhook outbox row)
in the same transaction, and the case system pulls it with its integration token."""

from __future__ import annotations

from sqlalchemy import func, select

from streetwarden.store.cameras import sync_cameras
from streetwarden.store.db import Database
from tests.review_support import LiveServer, add_users, make_settings, real_frames, seed_candidates


def test_warn_and_case_decisions_issue_notice_and_case(tmp_path, vtest_path):
    from streetwarden.store.outbox_schema import OutboxMessage

    settings = make_settings(tmp_path, vtest_path)
    settings.webhooks.url = "http://127.0.0.1:9/hooks"  # nothing listens: the rows stay in the outbox
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    warn_id, case_id, reject_id = seed_candidates(db, settings.storage_path, real_frames(vtest_path, 2), 3)
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        for cid, body in ((warn_id, {"decision": "warn"}), (case_id, {"decision": "case", "note": "堵塞盲道"}),
                          (reject_id, {"decision": "reject", "reason": "false_detection"})):
            r = rev.post(f"/api/v1/candidates/{cid}/decision", json=body, headers={"Idempotency-Key": f"k-{cid}"})
            assert r.status_code == 200, r.text
        # a retried warn does not issue a second notice
        r = rev.post(f"/api/v1/candidates/{warn_id}/decision", json={"decision": "warn"}, headers={"Idempotency-Key": f"k-{warn_id}"})
        assert r.status_code == 200
        cs = server.client("case-system")
        notices = cs.get("/api/v1/notices").json()["items"]
        cases = cs.get("/api/v1/cases").json()["items"]
        assert [n["candidate_id"] for n in notices] == [warn_id]
        assert [c["candidate_id"] for c in cases] == [case_id]
        assert notices[0]["ref"].startswith("SW-N-") and cases[0]["ref"].startswith("SW-C-")
        assert notices[0]["status"] == "open"
        # reviewers read the lists (the enforcement page) but cannot move a case: that is the case system's
        assert [c["ref"] for c in rev.get("/api/v1/cases").json()["items"]] == [cases[0]["ref"]]
        assert rev.post(f"/api/v1/cases/{cases[0]['ref']}/status", json={"status": "accepted"}).status_code == 403
        # the decision history says what each warn / case decision became, with its status now
        hist = {d["candidate_id"]: d for d in rev.get("/api/v1/decisions").json()["items"]}
        assert (hist[warn_id]["notice_ref"], hist[warn_id]["notice_status"], hist[warn_id]["case_ref"]) == (
            notices[0]["ref"], "open", None)
        assert (hist[case_id]["case_ref"], hist[case_id]["case_status"], hist[case_id]["notice_ref"]) == (
            cases[0]["ref"], "open", None)
        assert hist[reject_id]["notice_ref"] is None and hist[reject_id]["case_ref"] is None
        audit = server.client("adm").get("/api/v1/audit").json()["items"]
        assert any(a.get("action") == "candidate.decide" and (a.get("details") or {}).get("issued") == cases[0]["ref"]
                   for a in audit), audit[:3]
    with db.session() as s:
        types = sorted(s.scalars(select(OutboxMessage.event_type)).all())
        assert types == ["case.created", "notice.created"]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
