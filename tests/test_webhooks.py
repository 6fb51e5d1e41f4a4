"""Webhooks from the outbox to a real HTTP receiver on localhost: signed, retried with backoff while
the receiver is down, delivered exactly once per event across a restart of StreetWarden, never
twice by two concurrent workers, dead-lettered and redelivered through the API."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.enforcement_support import SECRET, Receiver, free_port, make_app, make_settings, open_db, raise_candidate, vtest_frame
from tests.waiting import wait_for
from streetwarden.pipeline.webhooks import WebhookDeliverer, body_bytes, sign, verify
from streetwarden.store.db import Database
from streetwarden.store.notices import change_case_status, issue_from_decision
from streetwarden.store.outbox import backoff
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.schema import Candidate
from streetwarden.config import ConfigError, WebhooksConfig, parse_settings


@pytest.fixture()
def secret_env(monkeypatch):
    monkeypatch.setenv("SW_TEST_HOOK_SECRET", SECRET)
    return "SW_TEST_HOOK_SECRET"


def hook_settings(root: Path, port: int, secret_env: str, database: str | None = None, **hooks):
    cfg = {"url": f"http://127.0.0.1:{port}/hook", "secret_env": secret_env, "backoff_seconds": 0.1,
           "backoff_max_seconds": 0.4, "max_attempts": 50, "poll_seconds": 0.05, "timeout_seconds": 2}
    cfg.update(hooks)
    return make_settings(root, webhooks=cfg, **({"database": database} if database else {}))


def issue_events(db: Database, settings, frame, n_notices: int = 3) -> list[str]:
    """n warn decisions, one case decision, then the case system accepts the case: n+2 events."""
    refs = []
    ids = [raise_candidate(db, settings, frame, ts=100.0 * (i + 1), box=(651 - i, 42, 724, 99)) for i in range(n_notices + 1)]
    with db.session() as s:
        for cid in ids[:-1]:
            refs.append(issue_from_decision(s, s.get(Candidate, cid), "warn", "alice", settings).ref)
        case = issue_from_decision(s, s.get(Candidate, ids[-1]), "case", "alice", settings)
        refs.append(case.ref)
    with db.session() as s:
        change_case_status(s, case.ref, "accepted", settings, actor="case-system", external_id="CS-1")
    return refs


def outbox(db: Database) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_signed_retried_and_exactly_once_across_restart(tmp_path, secret_env, vtest_path, database_url):
    port = free_port()
    settings = hook_settings(tmp_path, port, secret_env, database=database_url)
    db = open_db(settings)
    issue_events(db, settings, vtest_frame(vtest_path))
    rows = outbox(db)
    assert [r.event_type for r in rows] == ["notice.created"] * 3 + ["case.created", "case.updated"]
    assert all(r.status == "pending" for r in rows)

    # the receiver is down: every attempt is refused, retried with backoff, nothing is lost
    first = WebhookDeliverer(db, settings.webhooks, worker_id="sw-before-restart").start()
    assert wait_for(lambda: all(r.attempts >= 2 for r in outbox(db)[:4]), timeout=20)
    first.stop()
    rows = outbox(db)
    assert all(r.status == "pending" and r.delivered_at is None for r in rows)
    assert all("ConnectError" in (r.last_error or "") for r in rows[:4])
    assert rows[4].attempts == 0  # case.updated waits behind its case.created: per-record order

    # StreetWarden restarts (new engine, new worker) and the receiver comes back
    db.engine.dispose()
    db2 = Database(settings.database_url)
    receiver = Receiver(port).start()
    try:
        second = WebhookDeliverer(db2, settings.webhooks, worker_id="sw-after-restart").start()
        assert wait_for(lambda: all(r.status == "delivered" for r in outbox(db2)), timeout=30)
        second.stop()
    finally:
        receiver.stop()
    rows = outbox(db2)
    per_key = collections.Counter(p["key"] for p in receiver.posts)
    assert set(per_key) == {r.idempotency_key for r in rows}
    assert all(n == 1 for n in per_key.values()), per_key  # exactly once per event
    assert all(p["sig_ok"] for p in receiver.posts)
    attempt = {p["key"]: p["attempt"] for p in receiver.posts}
    assert all(attempt[r.idempotency_key] >= 3 for r in rows[:4])  # ≥2 refused attempts before
    by_key = {p["key"]: p for p in receiver.posts}
    for r in rows:
        body = by_key[r.idempotency_key]["body"]
        assert body["id"] == r.idempotency_key and body["type"] == r.event_type and body["data"]["ref"] == r.aggregate_ref
    case_updated = by_key[rows[-1].idempotency_key]["body"]["data"]
    assert case_updated["status"] == "accepted" and case_updated["external_id"] == "CS-1"
    # order per record: a case's created event was accepted before its update
    order = [p["key"] for p in receiver.posts]
    assert order.index(rows[3].idempotency_key) < order.index(rows[4].idempotency_key)


def test_two_workers_never_deliver_twice(tmp_path, secret_env, vtest_path, database_url):
    port = free_port()
    settings = hook_settings(tmp_path, port, secret_env, database=database_url)
    db = open_db(settings)
    issue_events(db, settings, vtest_frame(vtest_path), n_notices=10)
    receiver = Receiver(port).start()
    try:
        workers = [WebhookDeliverer(Database(settings.database_url), settings.webhooks, worker_id=f"w{i}") for i in range(2)]
        threads = [threading.Thread(target=lambda w=w: [w.run_once(limit=3) for _ in range(20)]) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert wait_for(lambda: all(r.status == "delivered" for r in outbox(db)), timeout=30)
    finally:
        receiver.stop()
    # exactly once: every event sent once, none twice, whichever worker happened to send it
    per_key = collections.Counter(p["key"] for p in receiver.posts)
    assert len(per_key) == 12 and set(per_key.values()) == {1}
    assert set(per_key) == {r.idempotency_key for r in outbox(db)}
    assert sum(w.stats["delivered"] for w in workers) == 12


def test_dead_letter_listed_and_redelivered_via_api(tmp_path, secret_env, vtest_path):
    port = free_port()
    settings = hook_settings(tmp_path, port, secret_env, max_attempts=2)
    db = open_db(settings)
    issue_events(db, settings, vtest_frame(vtest_path), n_notices=1)
    failing = Receiver(port, fail_with=503).start()
    try:
        worker = WebhookDeliverer(db, settings.webhooks, worker_id="w")
        assert wait_for(lambda: worker.run_once() >= 0 and all(r.status == "dead" for r in outbox(db)), timeout=20)
    finally:
        failing.stop()
    assert all(r.attempts == 2 and r.last_status_code == 503 for r in outbox(db))

    client = TestClient(make_app(settings, db, role="admin", username="root"))
    dead = client.get("/api/v1/webhooks/deliveries", params={"status": "dead"}).json()
    assert len(dead) == 3 and {d["status"] for d in dead} == {"dead"} and "503" in dead[0]["last_error"]
    assert client.post("/api/v1/webhooks/deliveries/999/redeliver").status_code == 404
    for d in dead:
        r = client.post(f"/api/v1/webhooks/deliveries/{d['id']}/redeliver")
        assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempts"] == 0
    assert client.post(f"/api/v1/webhooks/deliveries/{dead[0]['id']}/redeliver").status_code == 409  # already pending
    good = Receiver(port).start()
    try:
        assert wait_for(lambda: worker.run_once() >= 0 and all(r.status == "delivered" for r in outbox(db)), timeout=20)
    finally:
        good.stop()
    assert sorted(p["key"] for p in good.accepted()) == sorted(d["idempotency_key"] for d in dead)  # same keys
    client.app.state.principal = type(client.app.state.principal)(username="rev", role="reviewer", user_id=0)
    assert client.get("/api/v1/webhooks/deliveries").status_code == 403


def test_wrong_secret_is_rejected_by_receiver_and_retried(tmp_path, secret_env, vtest_path):
    port = free_port()
    settings = hook_settings(tmp_path, port, secret_env, max_attempts=3)
    db = open_db(settings)
    issue_events(db, settings, vtest_frame(vtest_path), n_notices=1)
    receiver = Receiver(port, secret="a-different-secret-value").start()
    try:
        worker = WebhookDeliverer(db, settings.webhooks)
        assert wait_for(lambda: worker.run_once() >= 0 and all(r.status == "dead" for r in outbox(db)), timeout=20)
    finally:
        receiver.stop()
    assert receiver.posts and not any(p["sig_ok"] for p in receiver.posts)
    assert all(r.last_status_code == 401 for r in outbox(db))


def test_signature_and_backoff_helpers():
    body = body_bytes({"b": 1, "a": "路"})
    assert body == '{"a":"路","b":1}'.encode()
    header = sign(b"k" * 16, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(b"k" * 16, body, header) and not verify(b"x" * 16, body, header) and not verify(b"k" * 16, body + b" ", header)
    hooks = WebhooksConfig(backoff_seconds=5, backoff_max_seconds=60)
    assert [backoff(hooks, n) for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]


def test_bad_secret_config_is_a_clear_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SW_NO_SUCH_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"webhooks\.secret_env: environment variable 'SW_NO_SUCH_SECRET' is not set"):
        parse_settings({"webhooks": {"url": "http://127.0.0.1:9/h", "secret_env": "SW_NO_SUCH_SECRET"}})
    monkeypatch.setenv("SW_SHORT_SECRET", "short")
    with pytest.raises(ConfigError, match=r"webhooks\.secret_env: .*5 characters; use at least 16"):
        parse_settings({"webhooks": {"url": "http://127.0.0.1:9/h", "secret_env": "SW_SHORT_SECRET"}})
    with pytest.raises(ConfigError, match=r"webhooks\.url: .*must start with http"):
        parse_settings({"webhooks": {"url": "127.0.0.1:9/h"}})
    with pytest.raises(ConfigError, match=r"webhooks\.max_atempts: unknown field"):
        parse_settings({"webhooks": {"max_atempts": 3}})
    # a secret removed after the config was loaded: the delivery worker refuses to start, naming the field
    monkeypatch.setenv("SW_LATER_GONE", SECRET)
    settings = parse_settings({"database": f"sqlite:///{tmp_path / 'x.db'}",
                               "webhooks": {"url": "http://127.0.0.1:9/h", "secret_env": "SW_LATER_GONE"}})
    monkeypatch.delenv("SW_LATER_GONE")
    with pytest.raises(ConfigError, match=r"webhooks\.secret_env: environment variable 'SW_LATER_GONE'"):
        WebhookDeliverer(open_db(settings), settings.webhooks)


def test_cli_delivers_and_reports_config_errors(tmp_path, secret_env, vtest_path):
    import os
    import subprocess
    import sys

    import yaml

    repo = Path(__file__).resolve().parents[1]
    port = free_port()
    settings = hook_settings(tmp_path, port, secret_env)
    db = open_db(settings)
    issue_events(db, settings, vtest_frame(vtest_path), n_notices=1)
    cfg = tmp_path / "sw.yaml"
    cfg.write_text(yaml.safe_dump({"database": settings.database, "storage": settings.storage,
                                   "webhooks": settings.webhooks.model_dump(mode="json")}))
    env = {**os.environ, "PYTHONPATH": str(repo)}
    receiver = Receiver(port).start()
    try:
        out = subprocess.run([sys.executable, "-m", "streetwarden", "webhooks", "--config", str(cfg), "--once"],
                             cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    finally:
        receiver.stop()
    assert out.returncode == 0, out.stderr
    assert '"delivered": 3' in out.stdout and len(receiver.accepted()) == 3
    env.pop(secret_env)
    out = subprocess.run([sys.executable, "-m", "streetwarden", "webhooks", "--config", str(cfg), "--once"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"webhooks.secret_env: environment variable '{secret_env}' is not set" in out.stderr
    assert "Traceback" not in out.stderr
