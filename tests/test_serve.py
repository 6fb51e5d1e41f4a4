"""`streetwarden serve` does the whole job in one process (a real subprocess here): API, review UI,
camera workers, notice re-checks and webhook delivery to a real local receiver; `--no-worker` and
`--no-webhooks` switch parts off; the session secret is kept in the storage folder across restarts;
`config-doc --config` reports what `run` would trip over, one line per field."""

from __future__ import annotations

import collections
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import httpx
import pytest
import yaml
from sqlalchemy import select

from tests.enforcement_support import SECRET, Receiver, free_port, make_settings, open_db, raise_candidate, vtest_frame
from tests.snapshot_server import SnapshotServer
from tests.ui_support import REPO, serve, token_client
from tests.waiting import wait_for
from streetwarden.store.notice_schema import Notice
from streetwarden.store.outbox_schema import OutboxMessage

ADMIN_PW = "serve-admin-password-42"
HOOK_ENV = "SW_TEST_SERVE_HOOK_SECRET"


def events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def components(log: Path, name: str) -> dict[str, dict]:
    return {e["component"]: e for e in events(log) if e["event"] == name}


@pytest.fixture()
def camera(vtest_path):
    """A live HTTP snapshot camera showing a real vtest.avi frame (a file source would end after one fast
    pass, and a notice's re-check needs a frame analysed after its deadline)."""
    jpeg = cv2.imencode(".jpg", vtest_frame(vtest_path))[1].tobytes()
    cam = SnapshotServer(lambda: jpeg)
    yield cam
    cam.close()


def deployment(tmp_path: Path, vtest: Path, hook_port: int, source: str) -> tuple[Path, object, int]:
    """A config file (one camera on `source`, webhooks to localhost:hook_port, notices re-checked as soon as
    issued) and one pending candidate (the `hook_env` fixture has set the webhook secret these settings need)."""
    hooks = {"url": f"http://127.0.0.1:{hook_port}/hook", "secret_env": HOOK_ENV, "poll_seconds": 0.1,
             "backoff_seconds": 0.1, "backoff_max_seconds": 0.5, "timeout_seconds": 5}
    notices = {"grace_seconds": {"sidewalk_parking": 0}, "check_every_seconds": 0.5}  # re-checked at once
    settings = make_settings(tmp_path, source=source, webhooks=hooks, notices=notices)
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_unset=True), allow_unicode=True),
                      encoding="utf-8")
    db = open_db(settings)
    candidate = raise_candidate(db, settings, vtest_frame(vtest))
    return config, db, candidate


def outbox(db) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def warn(url: str, candidate: int) -> str:
    """A reviewer (the bootstrap admin) confirms the candidate with a warning; returns the notice ref."""
    client = token_client(url, "admin", ADMIN_PW)
    r = client.post(f"/api/v1/candidates/{candidate}/decision", json={"decision": "warn"},
                    headers={"Idempotency-Key": f"warn-{candidate}"})
    assert r.status_code == 200, r.text
    notices = client.get("/api/v1/notices").json()["items"]
    assert [n["candidate_id"] for n in notices] == [candidate]
    return notices[0]["ref"]


@pytest.fixture()
def hook_env(monkeypatch):
    monkeypatch.setenv(HOOK_ENV, SECRET)
    return {HOOK_ENV: SECRET}


def test_serve_runs_everything_and_delivers_each_webhook_once(tmp_path, vtest_path, hook_env, camera):
    port = free_port()
    config, db, candidate = deployment(tmp_path, vtest_path, port, camera.url)
    receiver = Receiver(port).start()
    try:
        with serve(config, ADMIN_PW, env=hook_env) as served:
            started = components(served.log, "component_started")
            assert set(started) == {"api", "review_ui", "camera_workers", "notice_rechecks", "webhooks"}, started
            assert started["camera_workers"]["cameras"] == ["west-gate"]
            assert httpx.get(served.url + "/healthz").json()["worker"] == "running"
            admin = token_client(served.url, "admin", ADMIN_PW)
            assert wait_for(lambda: [c["camera_id"] for c in admin.get("/api/v1/cameras/health").json()]) == ["west-gate"]
            ref = warn(served.url, candidate)
            # the serve process re-checks the notice at its deadline (now): complied, or a case
            assert wait_for(lambda: admin.get(f"/api/v1/notices/{ref}").json()["status"] != "open", timeout=60), \
                admin.get(f"/api/v1/notices/{ref}").json()
            # and delivers every event itself: each outbox row marked delivered
            assert wait_for(lambda: {m.status for m in outbox(db)} == {"delivered"}, timeout=30), outbox(db)
        assert served.proc.returncode == 0, served.log.read_text()
    finally:
        receiver.stop()
    rows = outbox(db)
    assert rows[0].event_type == "notice.created" and rows[0].aggregate_ref == ref
    assert "notice.closed" in {r.event_type for r in rows}  # the re-check's outcome was announced too
    per_key = collections.Counter(p["key"] for p in receiver.posts)
    assert per_key == {r.idempotency_key: 1 for r in rows}, (per_key, rows)  # each exactly once, nothing else
    assert all(p["sig_ok"] and p["accepted"] for p in receiver.posts)
    log = events(served.log)
    assert {e["event"] for e in log} >= {"camera_health", "recheck_done", "webhook_delivered", "component_stopped"}
    assert camera.hits > 0


def test_no_worker_and_no_webhooks_leave_those_parts_off(tmp_path, vtest_path, hook_env, camera):
    port = free_port()
    config, db, candidate = deployment(tmp_path, vtest_path, port, camera.url)
    receiver = Receiver(port).start()
    try:
        with serve(config, ADMIN_PW, "--no-worker", "--no-webhooks", env=hook_env) as served:
            assert set(components(served.log, "component_started")) == {"api", "review_ui"}
            off = components(served.log, "component_off")
            assert off["webhooks"]["reason"] == "--no-webhooks" and off["camera_workers"]["reason"] == "--no-worker"
            assert httpx.get(served.url + "/healthz").json()["worker"] == "none"
            assert token_client(served.url, "admin", ADMIN_PW).get("/api/v1/cameras/health").json() == []
            warn(served.url, candidate)
        assert served.proc.returncode == 0, served.log.read_text()
        log = events(served.log)
        assert receiver.posts == [] and camera.hits == 0  # nothing sent, the camera never asked for a frame
        assert [(m.status, m.attempts) for m in outbox(db)] == [("pending", 0)]  # never tried
        with db.session() as s:  # no cameras, so no re-check: the notice waits for a worker
            assert [n.status for n in s.scalars(select(Notice)).all()] == ["open"]
        assert not [e for e in log if e["event"].startswith(("webhook_", "camera_"))], log
        # the message was deliverable all along: a separate deliverer sends it, once
        env = {**os.environ, "PYTHONPATH": str(REPO), **hook_env}
        sent = subprocess.run([sys.executable, "-m", "streetwarden", "webhooks", "--once", "--config", str(config)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stderr
        assert [p["event"] for p in receiver.accepted()] == ["notice.created"]
    finally:
        receiver.stop()


def test_session_secret_kept_in_storage_across_restarts(tmp_path, vtest_path):
    settings = make_settings(tmp_path, source=str(vtest_path))
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_unset=True), allow_unicode=True),
                      encoding="utf-8")
    secret_file = settings.storage_path / "session-secret"
    no_env = {"STREETWARDEN_SECRET": None}
    assert not secret_file.exists()
    # first start with two HTTP processes: the parent makes the secret before they fork
    with serve(config, ADMIN_PW, "--no-worker", "--workers", "2", env=no_env) as served:
        browser = httpx.Client(base_url=served.url, timeout=30)
        r = browser.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PW})
        assert r.status_code == 200, r.text
        cookies = dict(browser.cookies)
        assert cookies
        # whichever process answers, the cookie is good: both sign with the same secret
        assert [browser.get("/api/v1/auth/me").status_code for _ in range(8)] == [200] * 8
    assert served.proc.returncode == 0, served.log.read_text()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32 and secret not in served.log.read_text()
    created = [e for e in events(served.log) if e["event"] == "session_secret"]
    assert [(e["source"], e["created"]) for e in created] == [("file", True)]

    with serve(config, ADMIN_PW, "--no-worker", env=no_env, log_name="restart.log") as served:  # a restart: the login survives
        again = httpx.Client(base_url=served.url, cookies=cookies, timeout=30)
        me = again.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["username"] == "admin" and me.json()["csrf_token"]  # by the session cookie
    assert [(e["source"], e["created"]) for e in events(served.log) if e["event"] == "session_secret"] == [("file", False)]
    assert secret_file.read_text().strip() == secret

    # an environment secret wins over the file: the file's cookie is then no longer valid
    with serve(config, ADMIN_PW, "--no-worker", env={"STREETWARDEN_SECRET": "env-secret-0123456789abcdef"},
               log_name="env-secret.log") as served:
        assert httpx.Client(base_url=served.url, cookies=cookies, timeout=30).get("/api/v1/auth/me").status_code == 401
    assert [e["source"] for e in events(served.log) if e["event"] == "session_secret"] == ["environment"]
    assert secret_file.read_text().strip() == secret


def config_doc(config: Path, env: dict[str, str] | None = None, unset: str = "") -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}.items() if k != unset}
    return subprocess.run([sys.executable, "-m", "streetwarden", "config-doc", "--config", str(config)],
                          cwd=REPO, env=run_env, capture_output=True, text=True, timeout=120)


def test_config_doc_checks_what_run_needs(tmp_path, vtest_path, yolox_path):
    good = {
        "database": f"sqlite:///{tmp_path / 'sw.db'}",
        "models": {"default": {"path": str(yolox_path)}},
        "cameras": [{"id": "west-gate", "source": str(vtest_path)},
                    {"id": "gate-2", "source": "rtsp://viewer@10.0.0.7/main", "password_env": "SW_TEST_GATE2_PW"}],
    }
    config = tmp_path / "good.yaml"
    config.write_text(yaml.safe_dump(good), encoding="utf-8")
    ok = config_doc(config, {"SW_TEST_GATE2_PW": "camera-pw"})
    assert ok.returncode == 0 and ok.stdout.strip() == f"{config}: OK", ok.stderr

    bad = dict(good, models={"default": {"path": "no-such-model.onnx"}})
    bad["cameras"] = [dict(good["cameras"][0], source="clips/gone.mp4"), good["cameras"][1],
                      {"id": "off", "source": "/nowhere/disabled.mp4", "enabled": False}]
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(bad), encoding="utf-8")
    result = config_doc(config, unset="SW_TEST_GATE2_PW")
    lines = [line.removeprefix("streetwarden: error: ") for line in result.stderr.strip().splitlines()]
    assert result.returncode == 2 and "OK" not in result.stdout, (result.stdout, result.stderr)
    assert len(lines) == 3, lines  # the disabled camera is not run, so not checked
    assert lines[0].startswith(f"{config}: models.default.path: model file not found: ") and "no-such-model.onnx" in lines[0]
    assert lines[1] == (f"{config}: cameras[0](west-gate).source: no such file or folder: {tmp_path / 'clips' / 'gone.mp4'} "
                        "(relative paths start at the config file's folder)")
    assert lines[2].startswith(f"{config}: cameras[1](gate-2).password_env: environment variable SW_TEST_GATE2_PW is not set")
    assert "Traceback" not in result.stderr

    hooks = dict(good, webhooks={"url": "http://127.0.0.1:9/hook", "secret_env": "SW_TEST_UNSET_HOOK_SECRET"})
    config.write_text(yaml.safe_dump(hooks), encoding="utf-8")
    result = config_doc(config, {"SW_TEST_GATE2_PW": "camera-pw"})
    assert result.returncode == 2 and "webhooks.secret_env: environment variable 'SW_TEST_UNSET_HOOK_SECRET'" in result.stderr
