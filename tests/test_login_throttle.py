"""Login limits against real servers on SQLite and PostgreSQL, from real client addresses (the
loopback net 127.0.0.0/8: each test connects from its own 127.0.0.x): a guessing address is
throttled (429 with Retry-After) while the real user logs in from another; the wait doubles and is
capped; spraying one password over many accounts throttles the address; X-Forwarded-For counts
only from a trusted proxy; attempts sent at once get no more tries than one by one; two servers on
one database apply the same counters."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select, update

from tests.review_support import PASSWORD, LiveServer, add_users, make_settings
from streetwarden.store.audit import AuditEntry
from streetwarden.store.db import Database
from streetwarden.store.login_throttle import LoginThrottle

LONG = 600.0  # a first wait no test outlasts: "throttled" stays true while the test asserts it


def from_address(server: LiveServer, address: str) -> httpx.Client:
    """A client whose connections leave from `address` (any 127.x.y.z reaches the server on 127.0.0.1)."""
    return httpx.Client(base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def login(client: httpx.Client, user: str, password: str, **headers: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": user, "password": password}, headers=headers)


def token(client: httpx.Client, user: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": user, "password": password})


def throttled(r: httpx.Response) -> int:
    """Retry-After of a 429 (asserted present and sane)."""
    assert r.status_code == 429, r.text
    retry = int(r.headers["retry-after"])
    assert retry >= 1
    return retry


def block_length(r: httpx.Response) -> float:
    throttled(r)
    return float(re.search(r"this wait is ([0-9.]+) s", r.json()["detail"]).group(1))


@pytest.fixture
def servers(tmp_path, vtest_path, database_url):
    """Start servers with these `server:` settings on one fresh database (users added)."""
    started: list[LiveServer] = []
    db = Database(database_url)
    db.upgrade()
    add_users(db)

    def start(count: int = 1, **server: object) -> list[LiveServer]:
        settings = make_settings(tmp_path, vtest_path, **server)
        settings.database = database_url
        for _ in range(count):
            started.append(LiveServer(settings, db).__enter__())
        return started[-count:]

    yield start, db
    for s in started:
        s.__exit__(None, None, None)


def test_a_guessing_address_is_throttled_while_the_user_logs_in_from_another(servers):
    (start, db) = servers
    a, b = start(2, login_max_failures=3, login_first_delay_seconds=LONG)  # two servers, one database
    attacker = from_address(a, "127.0.0.2")
    for _ in range(3):
        assert login(attacker, "rev1", "guess-123").status_code == 401
    # even the right password is not checked from that address now, on either server, both routes
    retry = throttled(login(attacker, "rev1", PASSWORD))
    assert retry <= LONG and "this account from your address" in login(attacker, "rev1", PASSWORD).json()["detail"]
    throttled(token(from_address(b, "127.0.0.2"), "rev1", PASSWORD))
    throttled(login(from_address(b, "127.0.0.2"), "REV1", PASSWORD))  # the account name's case does not matter
    # the real user, from their own machine, on either server
    user_a, user_b = from_address(a, "127.0.0.3"), from_address(b, "127.0.0.3")
    assert login(user_a, "rev1", PASSWORD).status_code == 200
    assert token(user_b, "rev1", PASSWORD).status_code == 200
    assert login(user_b, "rev1", "typo-1234").status_code == 401  # their own counter starts from zero
    assert login(user_b, "rev1", PASSWORD).status_code == 200
    # the attacker's address may still log in to other accounts (below the address limit)
    assert login(attacker, "rev2", PASSWORD).status_code == 200
    with db.session() as s:
        failed = s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "auth.login_failed")).all()
    assert sorted(failed) == ["127.0.0.2"] * 3 + ["127.0.0.3"]  # throttled attempts are not failures


def end_the_waits(db: Database) -> None:
    """What waiting out every block would do, without a test that sleeps for minutes."""
    with db.session() as s:
        s.execute(update(LoginThrottle).values(blocked_until=0.0))


def test_the_wait_doubles_with_each_failure_up_to_the_cap(servers):
    (start, db) = servers
    (server,) = start(login_max_failures=2, login_first_delay_seconds=100, login_max_delay_seconds=400)
    c = from_address(server, "127.0.0.4")
    assert [login(c, "rev3", "guess-123").status_code for _ in range(2)] == [401, 401]
    waits = []
    for _ in range(4):
        r = login(c, "rev3", "guess-123")
        waits.append(block_length(r))
        assert waits[-1] - 60 <= throttled(r) <= waits[-1]  # Retry-After: what is left of this wait
        assert login(c, "rev3", PASSWORD).status_code == 429  # refused attempts are not charged, nor checked
        end_the_waits(db)
        assert login(c, "rev3", "guess-123").status_code == 401  # the next failure is charged
    assert waits == [100, 200, 400, 400]
    # after the wait the right password works and forgets this address's failures for that account
    end_the_waits(db)
    assert login(c, "rev3", PASSWORD).status_code == 200
    assert [login(c, "rev3", "guess-123").status_code for _ in range(2)] == [401, 401]
    assert block_length(login(c, "rev3", "guess-123")) == 100


def test_spraying_one_password_over_many_accounts_throttles_the_address(servers):
    (start, _) = servers
    (server,) = start(login_max_failures=10, login_address_max_failures=4, login_first_delay_seconds=LONG)
    sprayer = from_address(server, "127.0.0.5")
    for user in ("rev1", "rev2", "ghost-1", "sup"):  # unknown accounts count too
        assert login(sprayer, user, "Spring2026!").status_code == 401
    r = login(sprayer, "adm", PASSWORD)
    throttled(r)
    assert "accounts from your address" in r.json()["detail"]
    throttled(token(sprayer, "rev3", PASSWORD))
    assert login(from_address(server, "127.0.0.6"), "adm", PASSWORD).status_code == 200


def test_a_correct_password_takes_back_its_charge_on_the_address(servers):
    """Logins that succeed never add up to an address block (an office behind one address)."""
    (start, _) = servers
    (server,) = start(login_address_max_failures=2, login_first_delay_seconds=LONG)
    office = from_address(server, "127.0.0.7")
    assert login(office, "rev1", "typo-1234").status_code == 401
    assert [login(office, u, PASSWORD).status_code for u in ("rev1", "rev2", "rev3", "sup")] == [200] * 4
    assert login(office, "rev2", "typo-1234").status_code == 401  # the second failure: now the address waits
    throttled(login(office, "adm", PASSWORD))


def test_attempts_sent_at_once_get_no_more_tries_than_one_by_one(servers):
    (start, _) = servers
    (server,) = start(login_max_failures=3, login_first_delay_seconds=LONG)
    clients = [from_address(server, "127.0.0.8") for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda c: login(c, "sup", "guess-123").status_code, clients))
    assert sorted(codes) == [401] * 3 + [429] * 9


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(servers):
    (start, db) = servers
    (server,) = start(login_max_failures=2, login_first_delay_seconds=LONG, trusted_proxies=["127.0.0.9/32"])
    stranger = from_address(server, "127.0.0.10")
    for _ in range(2):
        assert login(stranger, "rev1", "guess-123", **{"X-Forwarded-For": "203.0.113.1"}).status_code == 401
    # the header of an untrusted peer is ignored: a new forged address does not buy new tries
    throttled(login(stranger, "rev1", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}))
    proxy = from_address(server, "127.0.0.9")
    for _ in range(2):  # behind the proxy: the client is the last hop that is not the proxy
        assert login(proxy, "rev2", "guess-123", **{"X-Forwarded-For": "203.0.113.5, 127.0.0.9"}).status_code == 401
    throttled(login(proxy, "rev2", PASSWORD, **{"X-Forwarded-For": "203.0.113.5"}))
    assert login(proxy, "rev2", PASSWORD, **{"X-Forwarded-For": "203.0.113.6"}).status_code == 200
    with db.session() as s:
        ips = s.scalars(select(AuditEntry.ip).where(AuditEntry.action.in_(["auth.login", "auth.login_failed"]))
                        .order_by(AuditEntry.id)).all()
    assert ips == ["127.0.0.10", "127.0.0.10", "203.0.113.5", "203.0.113.5", "203.0.113.6"]
