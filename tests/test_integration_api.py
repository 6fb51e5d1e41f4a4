"""The case system's API through real HTTP (FastAPI TestClient); only the auth dependency is stood in.

Pull with updated_since and cursor pages, status back into the case history, roles, and bad input
answered with clear 4xx, never 500."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from tests.enforcement_support import make_app, make_settings, open_db, raise_candidate, vtest_frame
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate


@pytest.fixture()
def world(tmp_path, vtest_path, database_url):
    """5 notices and 2 cases from real candidates with real evidence (on SQLite and PostgreSQL)."""
    settings = make_settings(tmp_path, database=database_url)
    db = open_db(settings)
    frame = vtest_frame(vtest_path)
    ids = [raise_candidate(db, settings, frame, ts=100.0 * (i + 1), box=(651 - i, 42, 724, 99)) for i in range(7)]
    notices, cases = [], []
    t0 = time.time() - 100
    with db.session() as s:
        for i, cid in enumerate(ids):
            row = issue_from_decision(s, s.get(Candidate, cid), "warn" if i < 5 else "case", "alice", settings, at=t0 + i)
            (notices if i < 5 else cases).append(row.ref)
    client = TestClient(make_app(settings, db))
    return settings, db, client, notices, cases, t0


def pull_all(client, path, **params):
    items, cursor, pages = [], None, 0
    while True:
        r = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return items, pages, body["resume_cursor"]


def test_pull_pages_and_updated_since(world):
    settings, db, client, notices, cases, t0 = world
    items, pages, resume = pull_all(client, "/api/v1/notices", limit=2)
    assert [i["ref"] for i in items] == notices and pages == 3
    n = items[0]
    assert n["status"] == "open" and n["place"]["address"] == "示例路 1 号西门" and n["place"]["latitude"] == 31.2304
    assert n["violation"] == "sidewalk_parking" and n["grace_seconds"] == 600 and n["evidence"][0]["sha256"]
    assert n["seen"]["clock"] == "seconds_into_recording" and n["bundle_url"].endswith(f"{n['ref']}/bundle")
    since = datetime.fromtimestamp(t0 + 2.5, timezone.utc).isoformat().replace("+00:00", "Z")
    later, _, _ = pull_all(client, "/api/v1/notices", updated_since=since)
    assert [i["ref"] for i in later] == notices[3:]
    assert [i["ref"] for i in pull_all(client, "/api/v1/notices", updated_since=str(t0 + 2.5))[0]] == notices[3:]
    c_items, _, _ = pull_all(client, "/api/v1/cases")
    assert [c["ref"] for c in c_items] == cases and c_items[0]["origin"] == "decision"
    # resume: nothing new, then a status change brings exactly that case back
    assert client.get("/api/v1/cases", params={"cursor": pull_all(client, "/api/v1/cases")[2]}).json()["items"] == []
    resume_c = pull_all(client, "/api/v1/cases")[2]
    r = client.post(f"/api/v1/cases/{cases[0]}/status", json={"status": "accepted", "external_id": "CS-77"})
    assert r.status_code == 200 and r.json()["changed"] is True
    again = client.get("/api/v1/cases", params={"cursor": resume_c}).json()["items"]
    assert [c["ref"] for c in again] == [cases[0]] and again[0]["status"] == "accepted"


def test_status_back_into_history(world):
    settings, db, client, notices, cases, t0 = world
    ref = cases[1]
    assert client.post(f"/api/v1/cases/{ref}/status", json={"status": "accepted", "note": "受理"}).status_code == 200
    same = client.post(f"/api/v1/cases/{ref}/status", json={"status": "accepted"})
    assert same.status_code == 200 and same.json()["changed"] is False  # a retried request changes nothing
    r = client.post(f"/api/v1/cases/{ref}/status", json={"status": "closed", "result": "罚款 200 元"})
    assert r.status_code == 200
    case = client.get(f"/api/v1/cases/{ref}").json()
    assert case["status"] == "closed" and case["result"] == "罚款 200 元"
    assert [(h["from"], h["to"], h["source"], h["actor"]) for h in case["history"]] == [
        (None, "open", "reviewer", "alice"), ("open", "accepted", "integration", "case-system"),
        ("accepted", "closed", "integration", "case-system")]
    assert case["history"][1]["note"] == "受理"
    # and the shared audit log holds both changes
    from sqlalchemy import select

    from streetwarden.store.audit import AuditEntry

    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "case.status", AuditEntry.target_id == ref)).all()
        assert [r.details["to_status"] for r in rows] == ["accepted", "closed"]


def test_newest_first_pages_walk_back_without_gaps(world):
    """order=newest (the review pages): latest change first, cursor pages neither skip nor repeat."""
    settings, db, client, notices, cases, t0 = world
    items, pages, resume = pull_all(client, "/api/v1/notices", limit=2, order="newest")
    assert [i["ref"] for i in items] == notices[::-1] and pages == 3 and resume is None
    # a status change moves a case to the top
    assert client.post(f"/api/v1/cases/{cases[0]}/status", json={"status": "accepted"}).status_code == 200
    top = client.get("/api/v1/cases", params={"order": "newest", "limit": 1}).json()
    assert top["items"][0]["ref"] == cases[0] and top["items"][0]["status"] == "accepted" and top["next_cursor"]
    rest = client.get("/api/v1/cases", params={"order": "newest", "cursor": top["next_cursor"]}).json()
    assert [c["ref"] for c in rest["items"]] == [cases[1]] and rest["next_cursor"] is None
    assert client.get("/api/v1/cases", params={"order": "sideways"}).status_code == 422


@pytest.mark.parametrize("ref,body,code,needle", [
    ("SW-C-000001", {"status": "archived"}, 422, "status"),                 # unknown status
    ("SW-C-000001", {"status": "open"}, 422, "status"),                     # not one the case system may set
    ("SW-C-999999", {"status": "accepted"}, 404, "does not exist"),         # no such case
    ("SW-C-000001", {"status": "closed"}, 422, "result"),                   # closed needs a result
    ("SW-C-000001", {"status": "accepted", "colour": "red"}, 422, "colour"),  # unknown field
    ("not-a-ref", {"status": "accepted"}, 422, "pattern"),
])
def test_bad_status_changes_are_4xx(world, ref, body, code, needle):
    r = world[2].post(f"/api/v1/cases/{ref}/status", json=body)
    assert r.status_code == code, r.text
    assert needle in r.text


def test_conflicting_transition_and_bad_queries(world):
    settings, db, client, notices, cases, t0 = world
    ref = cases[0]
    assert client.post(f"/api/v1/cases/{ref}/status", json={"status": "rejected", "result": "not ours"}).status_code == 200
    r = client.post(f"/api/v1/cases/{ref}/status", json={"status": "accepted"})
    assert r.status_code == 409 and "rejected" in r.json()["detail"] and "final" in r.json()["detail"]
    assert client.post(f"/api/v1/cases/{ref}/status", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    r = client.get("/api/v1/cases", params={"updated_since": "yesterday"})
    assert r.status_code == 422 and "updated_since" in r.json()["detail"]
    r = client.get("/api/v1/cases", params={"cursor": "!!garbage!!"})
    assert r.status_code == 422 and "cursor" in r.json()["detail"]
    assert client.get("/api/v1/cases", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/notices/SW-N-424242").status_code == 404


def test_roles(world):
    settings, db, client, notices, cases, t0 = world
    principal = client.app.state.principal
    client.app.state.principal = type(principal)(username="rita", role="reviewer", user_id=0)
    # reviewers read the lists (the enforcement page), but only the case system (or an admin) moves a case
    assert [c["ref"] for c in client.get("/api/v1/cases").json()["items"]] == cases
    assert client.get("/api/v1/notices", params={"status": "open"}).status_code == 200
    assert client.post(f"/api/v1/cases/{cases[0]}/status", json={"status": "accepted"}).status_code == 403
    assert client.get("/api/v1/webhooks/deliveries").status_code == 403
    assert client.get(f"/api/v1/cases/{cases[0]}").status_code == 200
    del client.app.dependency_overrides[next(iter(client.app.dependency_overrides))]
    assert client.get(f"/api/v1/cases/{cases[0]}").status_code == 401  # the placeholder refuses everyone


def test_openapi_documents_the_integration(world):
    spec = world[2].get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/v1/cases", "/api/v1/notices", "/api/v1/cases/{ref}/status", "/api/v1/webhooks/deliveries",
              "/api/v1/webhooks/deliveries/{delivery_id}/redeliver", "/api/v1/cases/{ref}/bundle", "/api/v1/stats"):
        assert p in paths, p
    params = {q["name"] for q in paths["/api/v1/cases"]["get"]["parameters"]}
    assert {"updated_since", "cursor", "limit"} <= params
    assert "StatusChange" in spec["components"]["schemas"]
