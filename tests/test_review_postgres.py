"""The review tables and the race-free claim/decision statements on a real PostgreSQL server
(Debian's postgresql, a throw-away cluster): the same code as on SQLite, no write lock, many threads."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from streetwarden.store.db import Database


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found: install Debian package 'postgresql' (scripts/install-test-deps.sh)")
    return found[-1]


@pytest.fixture(scope="module")
def pg_db():
    """initdb + pg_ctl in a temp dir (as user postgres when root: postgres refuses to run as root)."""
    root = Path(tempfile.mkdtemp(prefix="sw-review-pg-"))
    as_root = os.geteuid() == 0
    run = lambda *cmd: subprocess.run((["runuser", "-u", "postgres", "--"] if as_root else []) + list(cmd),  # noqa: E731
                                      check=True, capture_output=True, timeout=120)
    if as_root:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run(_pg_bin("initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(_pg_bin("pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        db.upgrade()
        yield db
        db.engine.dispose()
    finally:
        run(_pg_bin("pg_ctl"), "-D", str(root / "data"), "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def seeded(pg_db):
    from streetwarden.api.users.service import create_user
    from streetwarden.store.schema import Camera, Candidate

    with pg_db.session() as s:
        s.add(Camera(id="west-gate", name="西门", zones_version=0))
        users = [create_user(s, f"pg{i}", "reviewer", "pg-password-1").id for i in range(6)]
        ids = []
        for k in range(40):
            row = Candidate(camera_id="west-gate", zone_id="walk-1", violation="sidewalk_parking", label="car",
                            score=0.8, box=[1.0, 2.0, 3.0, 4.0], first_seen=100.0 + k, last_seen=150.0 + k, live=True,
                            status="pending", dedupe_key=f"pg/{k}", incident=f"pg-{k}", attributes={})
            s.add(row)
            s.flush()
            ids.append(row.id)
    return {"users": users, "ids": ids}


def _principal(uid: int):
    from streetwarden.api.auth.service import Principal

    return Principal(uid, f"pg{uid}", None, "reviewer", "bearer", None, 2e9)


def test_one_conditional_claim_wins_among_many_threads(pg_db, seeded):
    from streetwarden.store.review import Claim, try_claim

    target = seeded["ids"][-1]
    barrier = threading.Barrier(len(seeded["users"]))
    at = time.time()

    def attempt(uid):
        barrier.wait()
        with pg_db.session() as s:
            return try_claim(s, target, uid, at, at + 30)

    with ThreadPoolExecutor(len(seeded["users"])) as pool:
        results = list(pool.map(attempt, seeded["users"]))
    assert results.count(True) == 1
    with pg_db.session() as s:
        assert s.scalar(select(Claim.user_id).where(Claim.candidate_id == target)) == seeded["users"][results.index(True)]
        s.query(Claim).delete()


def test_reviewers_claiming_at_once_get_disjoint_sets(pg_db, seeded):
    from streetwarden.api.candidates import service
    from streetwarden.api.candidates.models import ListFilters
    from streetwarden.store.review import Claim

    for _ in range(3):
        barrier = threading.Barrier(len(seeded["users"]))

        def grab(uid):
            barrier.wait()
            items, _ = service.claim(pg_db, _principal(uid), 4, ListFilters(), 60, 600)
            return [i["id"] for i in items]

        with ThreadPoolExecutor(len(seeded["users"])) as pool:
            got = list(pool.map(grab, seeded["users"]))
        flat = [i for ids in got for i in ids]
        assert len(flat) == len(set(flat)) == 4 * len(seeded["users"]), got
        with pg_db.session() as s:
            s.query(Claim).delete()


def test_concurrent_decisions_exactly_one_wins_and_retries_replay(pg_db, seeded):
    from streetwarden.api.decisions import service
    from streetwarden.api.decisions.models import DecisionIn
    from streetwarden.store.review import Decision

    cid = seeded["ids"][0]
    barrier = threading.Barrier(len(seeded["users"]))

    def decide(uid):
        barrier.wait()
        return service.decide(pg_db, _principal(uid), cid, DecisionIn(decision="warn"), None, None)[0]

    with ThreadPoolExecutor(len(seeded["users"])) as pool:
        codes = list(pool.map(decide, seeded["users"]))
    assert sorted(codes) == [200] + [409] * (len(seeded["users"]) - 1)
    # the same Idempotency-Key sent four times at once: one decision, one answer
    cid2 = seeded["ids"][1]
    me = _principal(seeded["users"][0])
    barrier = threading.Barrier(4)

    def retry(_):
        barrier.wait()
        return service.decide(pg_db, me, cid2, DecisionIn(decision="reject", reason="duplicate"), "pg-key-1", None)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(retry, range(4)))
    assert all(a == answers[0] for a in answers) and answers[0][0] == 200
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Decision).where(Decision.candidate_id.in_([cid, cid2]))) == 2


def test_audit_log_is_append_only_on_postgres(pg_db):
    from streetwarden.store.audit import record

    with pg_db.session() as s:
        record(s, "test.entry", actor="pg0")
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with pg_db.engine.begin() as conn:
                conn.execute(text(sql))
