"""Queue semantics against a real server: listing and cursors, claims (leases that expire, never shared),
decisions (one per candidate, 409 on the second, idempotent retries), skip, history, audit, and clear
422s for bad values. Candidates come from the real pipeline on vtest.avi plus rows seeded through the
store with evidence cut from real frames of the same clip."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import delete, func, select, text

from tests.review_support import LiveServer, ROLES, add_users, make_settings, real_frames, seed_candidates
from tests.waiting import wait_for
from streetwarden.store.audit import AuditEntry
from streetwarden.store.db import Database
from streetwarden.store.review import Claim, Decision, IdempotencyKey, Skip, try_claim
from streetwarden.store.schema import Camera, Candidate

REVIEWERS = ["rev1", "rev2", "rev3", "sup", "adm"]


@pytest.fixture(scope="module")
def env(tmp_path_factory, vtest_path):
    from streetwarden.pipeline.worker import Worker

    tmp = tmp_path_factory.mktemp("queue")
    settings = make_settings(tmp, vtest_path)
    db = Database(settings.database_url)
    db.upgrade()
    stats = Worker(settings, db, once=True).run()  # the real pipeline: raises the parked-vehicle candidates
    assert stats["created"] >= 2, stats
    with db.session() as s:
        real = list(s.scalars(select(Candidate.id).order_by(Candidate.id)).all())
        s.add(Camera(id="east-lane", name="东路", zones_version=0))
    add_users(db)
    frames = real_frames(vtest_path, 4)
    seeded = seed_candidates(db, settings.storage_path, frames, 60)
    dumping = seed_candidates(db, settings.storage_path, frames, 10, camera="east-lane", violation="illegal_dumping",
                              zone="corner", dumping_pair=True, t0=1_800_000_000.0)
    with LiveServer(settings, db) as server:
        clients = {u: server.client(u) for u in ROLES}
        yield {"server": server, "db": db, "settings": settings, "real": real, "seeded": seeded, "dumping": dumping,
               "c": clients}


@pytest.fixture(autouse=True)
def _no_claims(env):
    with env["db"].session() as s:
        s.execute(delete(Claim))
        s.execute(delete(Skip))
    yield


def pending_ids(env) -> list[int]:
    with env["db"].session() as s:
        return list(s.scalars(select(Candidate.id).where(Candidate.status == "pending").order_by(Candidate.id)).all())


def claim(env, user, count=1, **filters):
    r = env["c"][user].post("/api/v1/candidates/claim", json={"count": count, **filters})
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]], r.json()


def test_real_candidates_have_verifiable_evidence(env):
    c = env["c"]["rev1"]
    for cid in env["real"]:
        body = c.get(f"/api/v1/candidates/{cid}").json()
        assert body["camera_id"] == "west-gate" and body["violation"] == "sidewalk_parking"
        assert body["camera_name"] == "西门" and body["zone_name"] in ("西门人行道", "东人行道")
        assert body["live"] is False and body["first_seen_at"] is None
        kinds = {e["kind"] for e in body["evidence"]}
        assert {"frame", "crop"} <= kinds
        for e in body["evidence"]:
            r = c.get(e["url"])
            assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == e["sha256"]


def test_list_pages_through_everything_once_with_filters(env):
    c = env["c"]["case-system"]
    seen, cursor, pages = [], None, 0
    while True:
        r = c.get("/api/v1/candidates", params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        body = r.json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    all_ids = env["real"] + env["seeded"] + env["dumping"]
    assert seen == sorted(all_ids, reverse=True) and pages == -(-len(all_ids) // 7)
    oldest = c.get("/api/v1/candidates", params={"order": "oldest", "limit": 3}).json()["items"]
    assert [i["id"] for i in oldest] == sorted(all_ids)[:3]
    dumping = c.get("/api/v1/candidates", params={"violation": "illegal_dumping", "limit": 200}).json()["items"]
    assert sorted(i["id"] for i in dumping) == env["dumping"]
    assert all({"before", "after"} <= {e["kind"] for e in i["evidence"]} for i in dumping)
    east = c.get("/api/v1/candidates", params={"camera_id": "east-lane", "limit": 200}).json()["items"]
    assert {i["camera_id"] for i in east} == {"east-lane"} and len(east) == 10
    # time range: seeded sidewalk rows are 60 s apart from 1.7e9; ISO and Unix seconds both work
    window = c.get("/api/v1/candidates", params={"since": "2023-11-14T22:14:00Z", "until": 1_700_000_300, "limit": 200}).json()["items"]
    firsts = sorted(i["first_seen"] for i in window)
    assert firsts and all(i["last_seen"] >= 1_700_000_040 and i["first_seen"] <= 1_700_000_300 for i in window)
    assert len(window) == 6
    none = c.get("/api/v1/candidates", params={"status": "rejected", "camera_id": "east-lane"}).json()
    assert none == {"items": [], "next_cursor": None}


def test_claim_gives_the_oldest_free_candidates_and_renews(env):
    ids, body = claim(env, "rev1", 3)
    free = pending_ids(env)
    assert ids == free[:3]
    assert all(i["claim"]["user"] == "rev1" and i["claim"]["mine"] for i in body["items"])
    time.sleep(0.05)
    again, body2 = claim(env, "rev1", 3)
    assert again == ids and body2["expires_at"] > body["expires_at"]  # same working set, lease renewed
    other, _ = claim(env, "rev2", 3)
    assert other == free[3:6]
    # a claimed candidate shows who holds it, to everyone
    seen = env["c"]["rev2"].get(f"/api/v1/candidates/{ids[0]}").json()["claim"]
    assert seen["user"] == "rev1" and seen["mine"] is False
    # filters narrow the working set; the claims outside it are let go
    dump, _ = claim(env, "rev1", 2, violation="illegal_dumping")
    assert dump == env["dumping"][:2]
    with env["db"].session() as s:
        assert set(s.scalars(select(Claim.candidate_id).where(Claim.user_id == _uid(env, "rev1"))).all()) == set(dump)


def _uid(env, name):
    from streetwarden.store.users import User

    with env["db"].session() as s:
        return s.scalar(select(User.id).where(User.username == name))


def test_reviewers_claiming_at_once_never_share_a_candidate(env):
    for round_ in range(3):
        barrier = threading.Barrier(len(REVIEWERS))

        def grab(user):
            barrier.wait()
            return claim(env, user, 4)[0]

        with ThreadPoolExecutor(len(REVIEWERS)) as pool:
            got = list(pool.map(grab, REVIEWERS))
        flat = [i for ids in got for i in ids]
        assert len(flat) == len(set(flat)) == 4 * len(REVIEWERS), (round_, got)
        with env["db"].session() as s:
            assert s.scalar(select(func.count()).select_from(Claim)) == len(flat)
            s.execute(delete(Claim))


def test_the_conditional_claim_statement_lets_exactly_one_win(env):
    """The store primitive itself, from many threads with their own connections, on one candidate."""
    db = env["db"]
    target = pending_ids(env)[-1]
    users = [_uid(env, u) for u in REVIEWERS]
    barrier = threading.Barrier(len(users))
    at = time.time()

    def attempt(uid):
        barrier.wait()
        with db.session() as s:
            return try_claim(s, target, uid, at, at + 30)

    with ThreadPoolExecutor(len(users)) as pool:
        results = list(pool.map(attempt, users))
    assert results.count(True) == 1
    with db.session() as s:
        holder = s.scalar(select(Claim.user_id).where(Claim.candidate_id == target))
    assert holder == users[results.index(True)]


def test_an_abandoned_claim_expires_and_returns_to_the_queue(env):
    short = env["settings"].model_copy(deep=True)
    short.server.claim_seconds = 5.0  # rev1 surely still holds it when rev2 claims next, on a busy machine too
    with LiveServer(short, env["db"]) as server:
        a, b = server.client("rev1"), server.client("rev2")
        claimed = a.post("/api/v1/candidates/claim", json={"count": 1}).json()
        first = claimed["items"][0]["id"]
        assert first == pending_ids(env)[0]
        other = b.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"][0]["id"]
        assert other != first
        b.post(f"/api/v1/candidates/{other}/release")
        # rev1 walked away: wait until its lease has run out by the clock (not a guessed sleep)
        assert wait_for(lambda: time.time() > claimed["expires_at"] + 0.05, timeout=30)
        got = b.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"][0]
        assert got["id"] == first and got["claim"]["user"] == "rev2"


def test_a_decision_is_recorded_once_and_a_second_is_409(env):
    c1, c2 = env["c"]["rev1"], env["c"]["rev2"]
    cid = claim(env, "rev1", 1)[0][0]
    r = c1.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn", "note": "  车停人行道  "})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "warn" and body["status"] == "warned" and body["decided_by"] == "rev1"
    assert body["note"] == "车停人行道"
    again = c2.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "reject", "reason": "duplicate"})
    assert again.status_code == 409
    assert again.json()["decision"]["decision"] == "warn" and "already decided" in again.json()["detail"]
    same_user = c1.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn"})
    assert same_user.status_code == 409  # no key: a new request, and the candidate is decided
    view = c2.get(f"/api/v1/candidates/{cid}").json()
    assert view["status"] == "warned" and view["decision"]["decided_by"] == "rev1" and view["claim"] is None
    assert cid not in [i["id"] for i in c2.get("/api/v1/candidates", params={"status": "pending", "limit": 200}).json()["items"]]
    with env["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Decision).where(Decision.candidate_id == cid)) == 1
        assert s.scalar(select(Claim).where(Claim.candidate_id == cid)) is None


@pytest.mark.parametrize("decision,reason,status", [("case", None, "case"), ("reject", "false_detection", "rejected"),
                                                    ("reject", "not_a_violation", "rejected")])
def test_each_decision_sets_its_status(env, decision, reason, status):
    cid = claim(env, "rev3", 1)[0][0]
    r = env["c"]["rev3"].post(f"/api/v1/candidates/{cid}/decision", json={"decision": decision, "reason": reason})
    assert r.status_code == 200 and r.json()["status"] == status and r.json()["reason"] == reason


def test_a_retried_decision_with_the_same_key_gets_the_same_answer(env):
    c = env["c"]["rev1"]
    cid = claim(env, "rev1", 1)[0][0]
    key = {"Idempotency-Key": "retry-7f3a9c"}
    body = {"decision": "reject", "reason": "other", "note": "影子"}
    first = c.post(f"/api/v1/candidates/{cid}/decision", json=body, headers=key)
    retry = c.post(f"/api/v1/candidates/{cid}/decision", json=body, headers=key)
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json()
    with env["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "candidate.decide", AuditEntry.target_id == str(cid))) == 1
    # the same key with another body is refused, clearly
    other = c.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn"}, headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    # keys belong to their user: another reviewer's same key is a new request (and meets the 409)
    r2 = env["c"]["rev2"].post(f"/api/v1/candidates/{cid}/decision", json=body, headers=key)
    assert r2.status_code == 409
    # a refused request's answer is replayed too
    assert env["c"]["rev2"].post(f"/api/v1/candidates/{cid}/decision", json=body, headers=key).json() == r2.json()


def test_concurrent_retries_with_one_key_decide_once(env):
    c = env["c"]["rev2"]
    cid = pending_ids(env)[0]
    barrier = threading.Barrier(4)

    def send(_):
        barrier.wait()
        return c.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "case"}, headers={"Idempotency-Key": "burst-1"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert [a.status_code for a in answers].count(200) >= 1
    ok = [a.json() for a in answers if a.status_code == 200]
    assert all(o == ok[0] for o in ok)
    with env["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Decision).where(Decision.candidate_id == cid)) == 1
        assert s.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "burst-1")) == 1


def test_two_reviewers_deciding_at_once_exactly_one_wins(env):
    cid = pending_ids(env)[0]
    barrier = threading.Barrier(len(REVIEWERS))

    def decide(user):
        barrier.wait()
        return env["c"][user].post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn"}).status_code

    with ThreadPoolExecutor(len(REVIEWERS)) as pool:
        codes = list(pool.map(decide, REVIEWERS))
    assert sorted(codes) == [200] + [409] * (len(REVIEWERS) - 1)


def test_deciding_a_candidate_someone_else_holds_is_409(env):
    cid = claim(env, "rev1", 1)[0][0]
    r = env["c"]["rev2"].post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn"})
    assert r.status_code == 409 and r.json()["claimed_by"] == "rev1"
    assert env["c"]["rev2"].post(f"/api/v1/candidates/{cid}/decision", json={"decision": "skip"}).status_code == 409


def test_skip_leaves_it_for_others_not_for_the_skipper(env):
    c1 = env["c"]["rev1"]
    cid = claim(env, "rev1", 1)[0][0]
    r = c1.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "skip"})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert c1.get(f"/api/v1/candidates/{cid}").json()["claim"] is None
    nxt = claim(env, "rev1", 1)[0]
    assert nxt and nxt[0] != cid
    c1.post(f"/api/v1/candidates/{nxt[0]}/release")
    assert claim(env, "rev2", 1)[0] == [cid]


def test_release_gives_the_candidate_back(env):
    cid = claim(env, "rev1", 1)[0][0]
    # another reviewer's release is refused and changes nothing; a supervisor's releases it
    refused = env["c"]["rev2"].post(f"/api/v1/candidates/{cid}/release")
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_claim"
    assert env["c"]["rev2"].get(f"/api/v1/candidates/{cid}").json()["claim"]["user"] == "rev1"
    assert env["c"]["sup"].post(f"/api/v1/candidates/{cid}/release").status_code == 204
    assert env["c"]["rev2"].get(f"/api/v1/candidates/{cid}").json()["claim"] is None
    assert claim(env, "rev2", 1)[0] == [cid]


def test_counts_follow_the_queue(env):
    c = env["c"]["rev3"]
    before = c.get("/api/v1/candidates/stats").json()
    assert before["pending"] == len(pending_ids(env))
    assert sum(before["by_violation"].values()) == before["pending"]
    ids = claim(env, "rev1", 2)[0]
    mid = c.get("/api/v1/candidates/stats").json()
    assert mid["claimed_by_others"] == 2 and mid["claimed_by_me"] == 0 and mid["available"] == before["available"] - 2
    env["c"]["rev1"].post(f"/api/v1/candidates/{ids[0]}/decision", json={"decision": "warn"})
    after = c.get("/api/v1/candidates/stats").json()
    assert after["pending"] == before["pending"] - 1 and after["claimed_by_others"] == 1
    mine = env["c"]["rev1"].get("/api/v1/candidates/stats").json()
    assert mine["claimed_by_me"] == 1 and mine["decided_by_me_24h"] >= 1
    dumping = c.get("/api/v1/candidates/stats", params={"violation": "illegal_dumping"}).json()
    assert set(dumping["by_violation"]) <= {"illegal_dumping"}


def test_history_shows_who_decided_and_searches(env):
    c = env["c"]["rev2"]
    cid = claim(env, "rev2", 1)[0][0]
    c.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "reject", "reason": "duplicate", "note": "同一辆白色货车"})
    page = c.get("/api/v1/decisions", params={"limit": 5}).json()
    top = page["items"][0]
    assert top["candidate_id"] == cid and top["decided_by"] == "rev2" and top["reason"] == "duplicate"
    assert top["thumbnail_url"].startswith("/api/v1/evidence/")
    assert [i["candidate_id"] for i in c.get("/api/v1/decisions", params={"q": "白色货车"}).json()["items"]] == [cid]
    assert cid in [i["candidate_id"] for i in c.get("/api/v1/decisions", params={"q": f"#{cid}"}).json()["items"]]
    by_user = c.get("/api/v1/decisions", params={"user": "rev2", "limit": 200}).json()["items"]
    assert by_user and all(i["decided_by"] == "rev2" for i in by_user)
    rejects = c.get("/api/v1/decisions", params={"decision": "reject", "limit": 200}).json()["items"]
    assert rejects and all(i["decision"] == "reject" for i in rejects)
    ids = [i["id"] for i in c.get("/api/v1/decisions", params={"limit": 200}).json()["items"]]
    assert ids == sorted(ids, reverse=True)
    first = c.get("/api/v1/decisions", params={"limit": 2}).json()
    second = c.get("/api/v1/decisions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids[:4]


def test_everything_lands_in_the_append_only_audit_log(env):
    cid = claim(env, "rev3", 1)[0][0]
    env["c"]["rev3"].post(f"/api/v1/candidates/{cid}/decision", json={"decision": "case", "note": "x"})
    log = env["c"]["sup"].get("/api/v1/audit", params={"target_type": "candidate", "target_id": str(cid)}).json()["items"]
    actions = [e["action"] for e in log]
    assert actions[:2] == ["candidate.decide", "candidate.claim"]
    assert log[0]["actor"] == "rev3" and log[0]["details"]["decision"] == "case" and log[0]["ip"] == "127.0.0.1"
    logins = env["c"]["adm"].get("/api/v1/audit", params={"action": "auth.token"}).json()["items"]
    assert {e["actor"] for e in logins} >= set(ROLES)
    db = env["db"]
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))
    with pytest.raises(PermissionError):
        with db.session() as s:
            entry = s.scalar(select(AuditEntry).limit(1))
            entry.action = "tampered"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "tampered")) == 0


@pytest.mark.parametrize("method,path,kwargs,field", [
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {}}, "body.decision"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "maybe"}}, "body.decision"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "reject"}}, "reason is required"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "warn", "reason": "duplicate"}}, "reason is only for"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "reject", "reason": "bored"}}, "body.reason"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "warn", "note": "x" * 2001}}, "body.note"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "warn", "note": "a\x00b"}}, "body.note"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "warn", "who": "me"}}, "body.who"),
    ("POST", "/api/v1/candidates/{id}/decision", {"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": {"decision": "warn"}, "headers": {"Idempotency-Key": "k" * 201}}, "Idempotency-Key"),
    ("POST", "/api/v1/candidates/{id}/decision", {"json": ["warn"]}, "body"),
    ("POST", "/api/v1/candidates/99999999999999999999/decision", {"json": {"decision": "warn"}}, "path.candidate_id"),
    ("POST", "/api/v1/candidates/-3/decision", {"json": {"decision": "warn"}}, "path.candidate_id"),
    ("POST", "/api/v1/candidates/abc/decision", {"json": {"decision": "warn"}}, "path.candidate_id"),
    ("POST", "/api/v1/candidates/claim", {"json": {"count": 0}}, "body.count"),
    ("POST", "/api/v1/candidates/claim", {"json": {"count": 500}}, "body.count"),
    ("POST", "/api/v1/candidates/claim", {"json": {"violation": "jaywalking"}}, "body.violation"),
    ("GET", "/api/v1/candidates", {"params": {"limit": 0}}, "query.limit"),
    ("GET", "/api/v1/candidates", {"params": {"limit": 1000}}, "query.limit"),
    ("GET", "/api/v1/candidates", {"params": {"status": "done"}}, "query.status"),
    ("GET", "/api/v1/candidates", {"params": {"since": "yesterday"}}, "query.since"),
    ("GET", "/api/v1/candidates", {"params": {"cursor": "!!garbage!!"}}, "query.cursor"),
    ("GET", "/api/v1/candidates", {"params": {"camera_id": "../etc"}}, "query.camera_id"),
    ("GET", "/api/v1/decisions", {"params": {"decision": "skip"}}, "query.decision"),
])
def test_bad_values_get_a_422_that_names_the_field(env, method, path, kwargs, field):
    path = path.replace("{id}", str(pending_ids(env)[0]))
    r = env["c"]["rev1"].request(method, path, **kwargs)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"].startswith("invalid request: ") and field in body["detail"], body
    assert body["errors"] and all(e["field"] and e["message"] for e in body["errors"])


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/v1/candidates/987654", None),
    ("POST", "/api/v1/candidates/987654/decision", {"decision": "warn"}),
    ("POST", "/api/v1/candidates/987654/release", None),
    ("GET", "/api/v1/evidence/987654", None),
    ("GET", "/api/v1/cameras/nowhere", None),
    ("GET", "/api/v1/cameras/nowhere/zones", None),
])
def test_unknown_ids_are_404(env, method, path, body):
    r = env["c"]["adm"].request(method, path, json=body)
    assert r.status_code == 404 and r.json()["detail"]


def test_malformed_requests_never_cause_a_500(env):
    c = env["c"]["adm"]
    junk = [
        ("POST", "/api/v1/candidates/claim", {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/v1/candidates/claim", {"content": b"count=3", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        ("GET", "/api/v1/candidates", {"params": {"since": "1e400"}}),
        ("GET", "/api/v1/candidates", {"params": {"until": "nan"}}),
        ("GET", "/api/v1/candidates", {"params": {"limit": "9" * 30}}),
        ("GET", "/api/v1/decisions", {"params": {"q": "%_%\\'\";--"}}),
        ("GET", "/api/v1/decisions", {"params": {"q": "#" + "9" * 40}}),
        ("GET", "/api/v1/evidence/0", {}),
        ("PUT", "/api/v1/cameras/west-gate/zones", {"json": {"zones": "all"}}),
        ("PUT", "/api/v1/cameras/west-gate/zones", {"json": {"zones": [{"id": "z", "kind": "sidewalk", "polygon": [[0, 0], [1]]}]}}),
        ("POST", "/api/v1/auth/token", {"data": {"username": "x" * 5000, "password": "y"}}),
        ("POST", "/api/v1/auth/login", {"json": {"username": None, "password": 3}}),
        ("GET", "/api/v1/audit", {"params": {"cursor": "eyJpZCI6IC0xfQ"}}),
    ]
    for method, path, kw in junk:
        r = c.request(method, path, **kw)
        harmless_search = path == "/api/v1/decisions"  # odd search text is just text: 200 with no matches
        assert (r.status_code == 200 if harmless_search else 400 <= r.status_code < 500), (method, path, kw, r.status_code, r.text)


def test_worker_processes_share_claims_safely(env, tmp_path):
    """`serve --workers 2` (two HTTP processes) next to the in-process server, all on one SQLite file:
    reviewers claiming through both at once still never share a candidate, and logins made in one
    process are valid in the other (one secret, tokens in the database)."""
    from tests.review_support import PASSWORD
    from tests.ui_support import serve

    settings = env["settings"]
    config = tmp_path / "serve.yaml"
    config.write_text(f"database: {settings.database_url}\nstorage: {settings.storage_path}\n"
                      "server: {claim_seconds: 60}\n", encoding="utf-8")
    with serve(config, "unused-admin-password-1", "--no-worker", "--workers", "2") as served:
        url = served.url
        remote = {}
        for user in ("rev1", "rev2", "rev3"):
            c = httpx.Client(base_url=url, timeout=30)
            tok = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()["access_token"]
            c.headers["Authorization"] = f"Bearer {tok}"
            remote[user] = c
        # a token from one process works on every request, whichever process answers
        assert all(remote["rev1"].get("/api/v1/auth/me").status_code == 200 for _ in range(6))
        jobs = [(remote["rev1"], "rev1"), (remote["rev2"], "rev2"), (remote["rev3"], "rev3"),
                (env["c"]["sup"], "sup"), (env["c"]["adm"], "adm")]
        for _ in range(3):
            barrier = threading.Barrier(len(jobs))

            def grab(job):
                client, _name = job
                barrier.wait()
                r = client.post("/api/v1/candidates/claim", json={"count": 3})
                assert r.status_code == 200, r.text
                return [i["id"] for i in r.json()["items"]]

            with ThreadPoolExecutor(len(jobs)) as pool:
                got = list(pool.map(grab, jobs))
            flat = [i for ids in got for i in ids]
            assert len(flat) == len(set(flat)) == 3 * len(jobs), got
            with env["db"].session() as s:
                s.execute(delete(Claim))
