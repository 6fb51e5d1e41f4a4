"""Helpers of the browser tests: `streetwarden serve` as a subprocess, bearer-token clients, the
headless Chromium launch (Debian's /usr/bin/chromium, never a downloaded browser), the config file
they serve, the reviewer account and the login."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.review_support import free_port

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def write_config(folder: Path, cameras: str, top: str = "") -> Path:
    """`folder/streetwarden.yaml` with its SQLite database (sw.db) and storage/ in that folder, the
    top-level `top` lines, then the `cameras` YAML list (so each test writes only what is its own)."""
    config = folder / "streetwarden.yaml"
    config.write_text(f"database: sqlite:///sw.db\nstorage: storage\n{top}cameras:\n{cameras}", encoding="utf-8")
    return config


def west_gate(vtest: Path, zones: str) -> str:
    """The `cameras` list of one camera, west-gate (西门) playing `vtest`, with the `zones` YAML list."""
    return f"""  - id: west-gate
    name: 西门
    source: {vtest}
    zones:
{zones}"""


@dataclass
class Served:
    """A running `streetwarden serve`: its URL, process and log file."""

    url: str
    proc: subprocess.Popen
    log: Path


def start_serve(config: Path, admin_password: str, *args: str, port: int | None = None,
                env: dict[str, str | None] | None = None, log_name: str = "serve.log") -> Served:
    """Start `python -m streetwarden serve --config …` (on `port`, or a free one) and wait until it answers;
    the first admin is `admin` with `admin_password`; `env` adds variables (None removes one). Fails with
    the server's log when it does not come up."""
    port = port or free_port()
    log_path = config.parent / log_name
    env = {**os.environ, "PYTHONPATH": str(REPO), "STREETWARDEN_ADMIN_PASSWORD": admin_password,
           "STREETWARDEN_SECRET": "e2e-secret-0123456789abcdef", **(env or {})}
    env = {k: v for k, v in env.items() if v is not None}
    with open(log_path, "a", encoding="utf-8") as log:  # the child keeps its own handle
        proc = subprocess.Popen([sys.executable, "-m", "streetwarden", "serve", "--config", str(config), "--port", str(port),
                                 *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Served(url, proc, log_path)
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_serve(Served(url, proc, log_path))
            raise AssertionError("server did not start:\n" + log_path.read_text())
        time.sleep(0.3)


def stop_serve(server: Served) -> None:
    """Stop it as an operator would (SIGTERM), killing it only if it hangs."""
    server.proc.terminate()
    try:
        server.proc.wait(30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(10)


@contextmanager
def serve(config: Path, admin_password: str, *args: str, env: dict[str, str | None] | None = None,
          log_name: str = "serve.log") -> Iterator[Served]:
    """`streetwarden serve` on a free port until the block ends (see start_serve); its exit status is in
    `proc.returncode` afterwards."""
    server = start_serve(config, admin_password, *args, env=env, log_name=log_name)
    try:
        yield server
    finally:
        stop_serve(server)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium of the system package, driven by Playwright."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def token_client(url: str, username: str, password: str) -> httpx.Client:
    """An API client with a bearer token of this account (how the case system calls)."""
    client = httpx.Client(base_url=url, timeout=30)
    tok = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert tok.status_code == 200, tok.text
    client.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    return client


def admin_with_reviewer(url: str, admin_password: str, username: str, password: str) -> httpx.Client:
    """The bootstrap admin's token client, after it has created the reviewer `username`."""
    admin = token_client(url, "admin", admin_password)
    r = admin.post("/api/v1/users", json={"username": username, "role": "reviewer", "password": password})
    assert r.status_code == 201, r.text
    return admin


def login(page: Page, url: str, user: str, password: str, path: str) -> None:
    """Open `path` without a session, get sent to the login page, log in and land back on `path`."""
    page.goto(url + path)
    expect(page).to_have_url(f"{url}/login?next={path}")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page).to_have_url(url + path)


def logged_in_page(opener: Browser | BrowserContext, url: str, user: str, password: str, path: str,
                   **page_args: object) -> tuple[Page, list[str]]:
    """A new page (of `opener`, with `page_args` such as a viewport) logged in on the way to `path`, and
    the list its script errors go to, for the test to assert empty at its end."""
    errors: list[str] = []
    page = opener.new_page(**page_args)  # type: ignore[arg-type]
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url, user, password, path)
    return page, errors
