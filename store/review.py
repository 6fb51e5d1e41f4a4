"""Review state of candidates: claims (leases), skips, final decisions and idempotency keys.

The claim and the decision are single conditional statements, so two reviewers can never hold or
decide the same candidate, on SQLite and PostgreSQL alike:
- claim: INSERT ... ON CONFLICT (candidate_id) DO UPDATE ... WHERE claims.expires_at <= now
  RETURNING candidate_id (a row = ours; none = someone holds a live lease);
- decide: UPDATE candidates SET status=... WHERE id=... AND status='pending' (rowcount 1 = ours),
  and `decisions.candidate_id` is unique as a second guard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from streetwarden.store.schema import Base, Candidate, now

DECISION_STATUS = {"warn": "warned", "case": "case", "reject": "rejected"}
REJECT_REASONS = ("false_detection", "not_a_violation", "duplicate", "other")

# the queue's count by violation reads only this index
Index("ix_candidates_status_violation", Candidate.__table__.c.status, Candidate.__table__.c.violation)


class Claim(Base):
    """A reviewer's lease on a candidate; an expired lease is free for anyone."""

    __tablename__ = "claims"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class Skip(Base):
    """A reviewer passed on a candidate; it stays in the queue for the others."""

    __tablename__ = "skips"
    __table_args__ = (Index("ix_skips_candidate_user", "candidate_id", "user_id", "skipped_at"),
                      Index("ix_skips_user_time", "user_id", "skipped_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)
    skipped_at: Mapped[float] = mapped_column(Float, default=now)


class Decision(Base):
    """The final decision on a candidate: warn, case or reject (one per candidate)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_user", "user_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64), doc="Kept as written, even if the account is renamed")
    decided_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    # the reviewer's correction of what the detector saw (migration 0007); the export labels with it
    corrected_label: Mapped[str | None] = mapped_column(String(64), doc="Corrected object class, if corrected")
    corrected_box: Mapped[list[float] | None] = mapped_column(
        JSON, doc="Corrected box [x1, y1, x2, y2] in fractions (0-1) of the evidence frame, if corrected")


class IdempotencyKey(Base):
    """The stored outcome of a request sent with an Idempotency-Key header, replayed on retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float, default=now, index=True)


def _upsert(s: Session):  # type: ignore[no-untyped-def]
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def try_claim(s: Session, candidate_id: int, user_id: int, at: float, expires_at: float) -> bool:
    """Take (or renew) the lease on one candidate; False when another reviewer holds a live one."""
    insert = _upsert(s)
    table = Claim.__table__
    stmt = insert(table).values(candidate_id=candidate_id, user_id=user_id, claimed_at=at, expires_at=expires_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.candidate_id],
        set_={"user_id": user_id, "claimed_at": at, "expires_at": expires_at},
        where=(table.c.expires_at <= at) | (table.c.user_id == user_id),
    ).returning(table.c.candidate_id)
    # a row comes back iff this statement inserted or took over the claim (RETURNING: SQLite >= 3.35, PostgreSQL)
    return s.execute(stmt).first() is not None


def renew_claims(s: Session, user_id: int, at: float, expires_at: float) -> None:
    """Extend every live lease the reviewer holds (the queue page calls this as a heartbeat)."""
    t = Claim.__table__
    s.execute(update(t).where(t.c.user_id == user_id, t.c.expires_at > at).values(expires_at=expires_at))


def release_claim(s: Session, candidate_id: int, user_id: int | None = None) -> int:
    t = Claim.__table__  # plain statements (no ORM session sync) in the hot transactions
    q = delete(t).where(t.c.candidate_id == candidate_id)
    if user_id is not None:
        q = q.where(t.c.user_id == user_id)
    return s.execute(q).rowcount


def held_claim(s: Session, candidate_id: int, at: float) -> Claim | None:
    """The live claim on a candidate, if any."""
    return s.scalar(select(Claim).where(Claim.candidate_id == candidate_id, Claim.expires_at > at))


def finalize(s: Session, candidate_id: int, decision: str) -> bool:
    """Move a pending candidate to its decided status; False if it was no longer pending."""
    t = Candidate.__table__
    res = s.execute(update(t).where(t.c.id == candidate_id, t.c.status == "pending")
                    .values(status=DECISION_STATUS[decision], updated_at=now()))
    return res.rowcount == 1
