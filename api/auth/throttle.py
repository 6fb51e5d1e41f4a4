"""Brute-force and password-spraying limits on logins, keyed so a stranger cannot lock anyone out.

A failure is counted against (client address, account) and against the address across all
accounts. Past `server.login_max_failures` (per account) or `server.login_address_max_failures`
(per address) the address must wait before its next try: `login_first_delay_seconds`, doubling with
each further failure, at most `login_max_delay_seconds` (429 with Retry-After). The same account
from another address is not affected, so guessing a reviewer's password from one machine never
locks the reviewer out. One remembered failure is forgotten per `login_forget_seconds`, and a
correct password forgets that address's failures for that account.

Every attempt is charged *before* its password is checked (and the charge taken back when it was
right), inside one short locked transaction, so many attempts sent at once get no more tries than
the same attempts sent one by one. The counters live in the database (store/login_throttle.py),
so every server process and machine applies the same limits.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from streetwarden.api.context import AppContext
from streetwarden.config import ServerConfig
from streetwarden.store.login_throttle import ANY_ACCOUNT, LoginThrottle, forget, locked_rows, purge_forgiven


@dataclass(frozen=True)
class Policy:
    per_account: int
    per_address: int
    first_delay: float
    max_delay: float
    forget: float

    @classmethod
    def of(cls, server: ServerConfig) -> "Policy":
        return cls(server.login_max_failures, server.login_address_max_failures, server.login_first_delay_seconds,
                   server.login_max_delay_seconds, server.login_forget_seconds)

    def wait(self, failures: int, limit: int) -> float:
        """How long to wait after the `failures`-th remembered failure (0 below the limit)."""
        if failures < limit:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** min(failures - limit, 64))


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is not even checked: which counter, how long the current wait is, how much is left."""

    scope: str  # "account" | "address"
    wait: float
    retry_after: int

    @property
    def message(self) -> str:
        whom = "this account from your address" if self.scope == "account" else "accounts from your address"
        return (f"too many failed logins for {whom}: try again in {self.retry_after} s "
                f"(this wait is {self.wait:g} s and doubles with each further failure)")


@dataclass(frozen=True)
class Attempt:
    """A charged attempt, to be taken back by `succeeded` if the password was right."""

    address: str
    username: str
    address_block_set: float | None  # the address block this charge set, if it set one
    address_block_before: float


def _keys(address: str, username: str) -> tuple[str, str]:
    return address[:64], username.lower()[:64]


def _forgive(row: LoginThrottle, now: float, forget: float) -> None:
    periods = math.floor((now - row.leak_from) / forget) if now > row.leak_from else 0
    if periods > 0:
        row.failures = max(0, row.failures - periods)
        row.leak_from = row.leak_from + periods * forget if row.failures else now


def begin(ctx: AppContext, address: str, username: str) -> Attempt | Refusal:
    """Charge one attempt, or refuse it (uncharged) while the address waits for this account or for all."""
    policy = Policy.of(ctx.settings.server)
    address, username = _keys(address, username)
    now = time.time()
    with ctx.writing(), ctx.db.session() as s:
        rows = {r.username: r for r in locked_rows(s, [(address, ANY_ACCOUNT), (address, username)], now)}
        counters = [(rows[username], "account", policy.per_account), (rows[ANY_ACCOUNT], "address", policy.per_address)]
        for row, scope, limit in counters:
            if row.blocked_until > now:
                return Refusal(scope, policy.wait(row.failures, limit), max(1, math.ceil(row.blocked_until - now)))
        before = rows[ANY_ACCOUNT].blocked_until
        for row, _, limit in counters:
            _forgive(row, now, policy.forget)
            row.failures += 1
            wait = policy.wait(row.failures, limit)
            if wait:
                row.blocked_until = now + wait
        purge_forgiven(s, now, policy.forget)
        set_block = rows[ANY_ACCOUNT].blocked_until if rows[ANY_ACCOUNT].blocked_until != before else None
    return Attempt(address, username, set_block, before)


def succeeded(ctx: AppContext, attempt: Attempt) -> None:
    """The password was right: forget the failures for this account, take back the address's charge."""
    now = time.time()
    with ctx.writing(), ctx.db.session() as s:
        (row,) = locked_rows(s, [(attempt.address, ANY_ACCOUNT)], now)
        row.failures = max(0, row.failures - 1)
        if attempt.address_block_set is not None and row.blocked_until == attempt.address_block_set:
            row.blocked_until = attempt.address_block_before  # nobody failed since: this charge never happened
        forget(s, attempt.address, attempt.username)
