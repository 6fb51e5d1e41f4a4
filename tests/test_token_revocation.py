"""Disabling an account (or a new password) ends its sessions and tokens at once in every server
process: two real `streetwarden serve` processes on one database (SQLite file and PostgreSQL),
`streetwarden users …` run as a subprocess, and the very next request on each process is 401."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.ui_support import serve

REPO = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "admin-password-42"
PASSWORD = "wang-password-42"


def config_file(folder: Path, url: str, storage: Path) -> Path:
    folder.mkdir()
    path = folder / "sw.yaml"
    path.write_text(yaml.safe_dump({"database": url, "storage": str(storage), "cameras": []}), encoding="utf-8")
    return path


def users_cli(config: Path, *args: str, stdin: str | None = None) -> None:
    r = subprocess.run([sys.executable, "-m", "streetwarden", "users", *args, "--config", str(config)], input=stdin,
                       capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert r.returncode == 0, r.stderr


def credentials(url: str, password: str) -> tuple[httpx.Client, httpx.Client]:
    """A bearer-token client and a browser-session client of 'wang' on this server."""
    bearer = httpx.Client(base_url=url, timeout=30)
    tok = bearer.post("/api/v1/auth/token", data={"username": "wang", "password": password})
    assert tok.status_code == 200, tok.text
    bearer.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    browser = httpx.Client(base_url=url, timeout=30)
    assert browser.post("/api/v1/auth/login", json={"username": "wang", "password": password}).status_code == 200
    return bearer, browser


def test_the_next_request_on_every_process_is_refused(tmp_path, database_url):
    first = config_file(tmp_path / "a", database_url, tmp_path / "storage")
    second = config_file(tmp_path / "b", database_url, tmp_path / "storage")
    with serve(first, ADMIN_PASSWORD, "--no-worker") as a, serve(second, ADMIN_PASSWORD, "--no-worker") as b:
        users_cli(first, "add", "wang", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")
        clients = [*credentials(a.url, PASSWORD), *credentials(b.url, PASSWORD)]
        for _ in range(3):  # every process has just seen these credentials work
            assert [c.get("/api/v1/auth/me").status_code for c in clients] == [200] * 4
        users_cli(second, "disable", "wang")
        assert [c.get("/api/v1/candidates").status_code for c in clients] == [401] * 4
        assert httpx.post(b.url + "/api/v1/auth/token", data={"username": "wang", "password": PASSWORD}).status_code == 401

        users_cli(first, "enable", "wang")  # a new password ends the old logins just as at once
        clients = [*credentials(a.url, PASSWORD), *credentials(b.url, PASSWORD)]
        assert [c.get("/api/v1/auth/me").status_code for c in clients] == [200] * 4
        users_cli(first, "passwd", "wang", "--password-stdin", stdin="another-password-7\n")
        assert [c.get("/api/v1/auth/me").status_code for c in clients] == [401] * 4
        assert [c.get("/api/v1/auth/me").status_code for c in credentials(b.url, "another-password-7")] == [200, 200]


def test_with_two_worker_processes_no_request_after_disabling_gets_through(tmp_path, database_url):
    """`server.workers: 2`: requests on fresh connections land on either worker process; once the
    account is disabled, none of them is served."""
    config = config_file(tmp_path / "a", database_url, tmp_path / "storage")
    with serve(config, ADMIN_PASSWORD, "--no-worker", "--workers", "2") as server:
        users_cli(config, "add", "wang", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")
        bearer, browser = credentials(server.url, PASSWORD)
        auth = {"headers": dict(bearer.headers)}, {"cookies": dict(browser.cookies)}

        def fresh_connections() -> list[int]:
            return [httpx.get(server.url + "/api/v1/auth/me", timeout=30, **how).status_code
                    for _ in range(10) for how in auth]

        assert fresh_connections() == [200] * 20
        users_cli(config, "disable", "wang")
        assert fresh_connections() == [401] * 20
