"""Accounts, logins, tokens, CSRF and roles against a real server: every route needs a login (except
login and health), each role gets 403 where it has no business, secrets are stored hashed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.review_support import PASSWORD, LiveServer, add_users, make_settings, real_frames, seed_candidates
from streetwarden.store.db import Database
from streetwarden.store.users import AuthToken, User

REPO = Path(__file__).resolve().parents[1]
PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/token"), ("GET", "/healthz"), ("GET", "/api/v1/health")}


@pytest.fixture(scope="module")
def env(tmp_path_factory, vtest_path):
    tmp = tmp_path_factory.mktemp("auth")
    settings = make_settings(tmp, vtest_path, login_max_failures=3)
    db = Database(settings.database_url)
    db.upgrade()
    from streetwarden.store.cameras import sync_cameras

    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    ids = seed_candidates(db, settings.storage_path, real_frames(vtest_path, 3), 6)
    with LiveServer(settings, db) as server:
        yield {"server": server, "db": db, "settings": settings, "ids": ids, "tmp": tmp}


def _fill(path: str) -> str:
    return (path.replace("{candidate_id}", "1").replace("{evidence_id}", "1").replace("{camera_id}", "west-gate")
            .replace("{zone_id}", "walk-1").replace("{username}", "rev1"))


def test_every_route_but_login_and_health_needs_authentication(env):
    server = env["server"]
    anon = server.client()
    checked = 0
    for path, ops in server.app.openapi()["paths"].items():
        for method in (m.upper() for m in ops):
            if (method, path) in PUBLIC:
                continue
            r = anon.request(method, _fill(path), json={} if method in ("POST", "PUT", "PATCH") else None)
            assert r.status_code == 401, f"{method} {path} answered {r.status_code} without credentials"
            assert "not authenticated" in r.json()["detail"]
            checked += 1
    assert checked >= 20
    # pages redirect to the login page; static files, evidence, docs and the schema answer 401
    r = anon.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/queue")
    assert anon.get("/docs", follow_redirects=False).status_code == 303
    assert anon.get("/openapi.json").status_code == 401
    assert anon.get("/static/queue.js").status_code == 401
    assert anon.get("/static/cameras.js").status_code == 401
    assert anon.get("/api/v1/evidence/1").status_code == 401
    assert anon.get("/api/v1/cameras/west-gate/snapshot").status_code == 401
    # what the login page needs, and health, are public
    assert anon.get("/login").status_code == 200
    assert anon.get("/static/login.js").status_code == 200
    assert anon.get("/healthz").json()["status"] == "ok"
    # a bad or forged token is the same as none
    assert anon.get("/api/v1/candidates", headers={"Authorization": "Bearer forged"}).status_code == 401
    anon.cookies.set("sw_session", "forged.value.here")
    assert anon.get("/api/v1/candidates").status_code == 401


@pytest.mark.parametrize("user,method,path,body", [
    ("case-system", "POST", "/api/v1/candidates/claim", {"count": 1}),
    ("case-system", "POST", "/api/v1/candidates/1/decision", {"decision": "warn"}),
    ("case-system", "GET", "/api/v1/candidates/stats", None),
    ("case-system", "GET", "/api/v1/cameras", None),
    ("case-system", "GET", "/api/v1/audit", None),
    ("rev1", "PUT", "/api/v1/cameras/west-gate/zones", {"zones": []}),
    ("rev1", "POST", "/api/v1/cameras/west-gate/zones",
     {"id": "z9", "kind": "sidewalk", "polygon": [[0, 0], [1, 0], [1, 1]]}),
    ("rev1", "DELETE", "/api/v1/cameras/west-gate/zones/walk-1", None),
    ("rev1", "GET", "/api/v1/audit", None),
    ("rev1", "GET", "/api/v1/users", None),
    ("sup", "GET", "/api/v1/users", None),
    ("sup", "POST", "/api/v1/users", {"username": "x1", "role": "admin", "password": "whatever-123"}),
    ("rev1", "PATCH", "/api/v1/users/rev2", {"role": "admin"}),
])
def test_wrong_role_is_403(env, user, method, path, body):
    r = env["server"].client(user).request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert "may not" in r.json()["detail"]


def test_roles_that_may_do_it_get_through(env):
    server = env["server"]
    assert server.client("case-system").get("/api/v1/candidates").status_code == 200
    assert server.client("case-system").get(f"/api/v1/candidates/{env['ids'][0]}").status_code == 200
    assert server.client("sup").get("/api/v1/audit").status_code == 200
    assert server.client("adm").get("/api/v1/users").status_code == 200
    assert server.client("rev1").get("/api/v1/cameras").status_code == 200


def test_integration_accounts_cannot_log_in_to_the_browser(env):
    r = httpx.post(env["server"].url + "/api/v1/auth/login", json={"username": "case-system", "password": PASSWORD})
    assert r.status_code == 403 and "bearer" in r.json()["detail"]
    assert "set-cookie" not in r.headers


def test_session_cookie_and_csrf(env):
    client, csrf = env["server"].browser("rev1")
    assert client.cookies.get("sw_session")
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["username"] == "rev1" and me["csrf_token"] == csrf
    # a state-changing request without (or with a wrong) CSRF token is refused
    r = client.post("/api/v1/candidates/claim", json={"count": 1})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/v1/candidates/claim", json={"count": 1}, headers={"X-CSRF-Token": "nope"})
    assert r.status_code == 403
    r = client.post("/api/v1/candidates/claim", json={"count": 1}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    assert client.delete("/api/v1/candidates/claims", headers={"X-CSRF-Token": csrf}).json()["released"] == 1
    # reading needs no CSRF token; pages and protected static files are served
    assert client.get("/queue").status_code == 200
    assert client.get("/static/queue.js").status_code == 200
    # logout ends the session: the old cookie no longer works
    value = client.cookies["sw_session"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    r = httpx.get(env["server"].url + "/api/v1/auth/me", cookies={"sw_session": value})
    assert r.status_code == 401


def test_cookie_flags(env, tmp_path, vtest_path):
    r = httpx.post(env["server"].url + "/api/v1/auth/login", json={"username": "rev2", "password": PASSWORD})
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "secure" not in header
    secure = env["settings"].model_copy(deep=True)
    secure.server.secure_cookies = True
    with LiveServer(secure, env["db"], secret="another-secret-0123456789") as other:
        r = httpx.post(other.url + "/api/v1/auth/login", json={"username": "rev2", "password": PASSWORD})
        assert "; secure" in r.headers["set-cookie"].lower()
        # a cookie signed with another server's secret is not accepted
        forged = httpx.get(env["server"].url + "/api/v1/auth/me", cookies={"sw_session": r.cookies["sw_session"]})
        assert forged.status_code == 401


def test_bearer_token_flow_and_wrong_password(env):
    url = env["server"].url
    r = httpx.post(url + "/api/v1/auth/token", data={"username": "rev3", "password": PASSWORD, "grant_type": "password"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = httpx.get(url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["user"]["role"] == "reviewer" and me["csrf_token"] is None
    bad = httpx.post(url + "/api/v1/auth/token", data={"username": "rev3", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["detail"] == "wrong username or password"
    missing = httpx.post(url + "/api/v1/auth/token", data={"username": "rev3"})
    assert missing.status_code == 422 and "password" in missing.json()["detail"]


def test_secrets_are_stored_hashed(env):
    token = env["server"].client("rev1").headers["Authorization"].split()[1]
    with env["db"].session() as s:
        user = s.scalar(select(User).where(User.username == "rev1"))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        digests = set(s.scalars(select(AuthToken.token_sha256)).all())
    assert hashlib.sha256(token.encode()).hexdigest() in digests
    assert token not in digests


def test_disabling_an_account_ends_its_tokens(env):
    server = env["server"]
    admin = server.client("adm")
    assert admin.post("/api/v1/users", json={"username": "temp", "role": "reviewer", "password": "short"}).status_code == 422
    r = admin.post("/api/v1/users", json={"username": "temp", "role": "reviewer", "password": "temp-password-1"})
    assert r.status_code == 201 and r.json()["role"] == "reviewer"
    assert admin.post("/api/v1/users", json={"username": "temp", "role": "reviewer", "password": "temp-password-1"}).status_code == 409
    c = httpx.Client(base_url=server.url)
    tok = c.post("/api/v1/auth/token", data={"username": "temp", "password": "temp-password-1"}).json()["access_token"]
    c.headers["Authorization"] = f"Bearer {tok}"
    assert c.get("/api/v1/candidates").status_code == 200
    assert admin.patch("/api/v1/users/temp", json={"active": False}).json()["active"] is False
    assert c.get("/api/v1/candidates").status_code == 401
    assert admin.patch("/api/v1/users/nobody", json={"active": False}).status_code == 404


def test_evidence_files_are_served_only_with_a_login(env):
    server = env["server"]
    cand = server.client("rev1").get(f"/api/v1/candidates/{env['ids'][0]}").json()
    ev = cand["evidence"][0]
    assert server.client().get(ev["url"]).status_code == 401
    r = server.client("case-system").get(ev["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(r.content).hexdigest() == ev["sha256"]
    assert r.headers["etag"].strip('"') == ev["sha256"]
    assert server.client("rev1").get("/api/v1/evidence/999999").status_code == 404


def test_security_headers(env):
    r = env["server"].client().get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]


def _cli(*args: str, stdin: str | None = None, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streetwarden", *args, "--config", str(config)], input=stdin,
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)


def test_users_command_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("database: sqlite:///cli.db\nstorage: data\n", encoding="utf-8")
    r = _cli("users", "add", "chen", "--role", "supervisor", "--password-stdin", stdin="a-long-password\n", config=config)
    assert r.returncode == 0, r.stderr
    assert "added chen (supervisor)" in r.stdout
    again = _cli("users", "add", "chen", "--role", "reviewer", "--password-stdin", stdin="a-long-password\n", config=config)
    assert again.returncode == 2 and "already exists" in again.stderr
    no_stdin = _cli("users", "add", "li", "--role", "reviewer", config=config)
    assert no_stdin.returncode == 2 and "--password-stdin" in no_stdin.stderr
    short = _cli("users", "add", "li", "--role", "reviewer", "--password-stdin", stdin="short\n", config=config)
    assert short.returncode == 2 and "at least 8" in short.stderr
    listed = _cli("users", "list", config=config)
    assert "chen" in listed.stdout and "supervisor" in listed.stdout and "li " not in listed.stdout
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    from streetwarden.api.auth.security import verify_password

    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "chen"))
        assert verify_password(user.password_hash, "a-long-password")
        assert not verify_password(user.password_hash, "a-long-passwordX")


def test_metrics_and_camera_health_need_the_right_role(env):
    """Prometheus scrapes /metrics with an admin or integration token; health is for staff."""
    server = env["server"]
    assert server.client().get("/metrics").status_code == 401
    assert server.client().get("/api/v1/cameras/health").status_code == 401
    assert server.client("rev1").get("/metrics").status_code == 403
    assert server.client("case-system").get("/api/v1/cameras/health").status_code == 403
    assert server.client("adm").get("/metrics").status_code == 200
    assert server.client("case-system").get("/metrics").status_code == 200
    assert server.client("rev1").get("/api/v1/cameras/health").status_code == 200
