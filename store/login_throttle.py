"""Failed-login counters, in the database so every server process sees the same ones.

One row per (client address, account name) and one per client address across all accounts
(`username` = ''), the brute-force and the password-spraying counters. The rules that read and
charge them live in api/auth/throttle.py; this module only stores and locks rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Float, Integer, String, delete, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from streetwarden.store.schema import Base

ANY_ACCOUNT = ""  # the username of an address's row across all accounts


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    address: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Client address (IPv4/IPv6)")
    username: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Account name tried, lower case; '' = any")
    failures: Mapped[int] = mapped_column(Integer, default=0, doc="Failures still remembered (one is forgotten per leak period)")
    leak_from: Mapped[float] = mapped_column(Float, index=True, doc="When the next forgiveness period began")
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0, doc="Unix time before which attempts get 429")


def locked_rows(s: Session, keys: Sequence[tuple[str, str]], now: float) -> list[LoginThrottle]:
    """The rows of these (address, username) keys, created when missing, locked for this transaction.

    Writes first (insert-or-ignore), so on SQLite the transaction holds the write lock before it
    reads and never has to upgrade a stale read snapshot; on PostgreSQL SELECT … FOR UPDATE makes
    concurrent attempts on the same key wait their turn. Keys are locked in sorted order (no deadlock)."""
    keys = sorted(set(keys))
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for address, username in keys:
        s.execute(insert(LoginThrottle).values(address=address, username=username, failures=0, leak_from=now,
                                               blocked_until=0.0).on_conflict_do_nothing())
    rows = s.scalars(select(LoginThrottle).where(tuple_(LoginThrottle.address, LoginThrottle.username).in_(keys))
                     .order_by(LoginThrottle.address, LoginThrottle.username).with_for_update()).all()
    return list(rows)


def forget(s: Session, address: str, username: str) -> None:
    s.execute(delete(LoginThrottle).where(LoginThrottle.address == address, LoginThrottle.username == username))


def purge_forgiven(s: Session, now: float, leak_seconds: float) -> int:
    """Drops rows whose failures are all forgiven and that block nothing (they say nothing any more)."""
    t = LoginThrottle
    return s.execute(delete(t).where(t.leak_from < now - leak_seconds, t.blocked_until < now,
                                     t.leak_from + t.failures * leak_seconds < now)).rowcount
