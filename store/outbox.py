"""Outbox queries: enqueue in the caller's transaction, claim due rows, record delivery outcomes.

Claiming is a conditional UPDATE (portable to SQLite and PostgreSQL): a row is taken only if its
lease is free, so several delivery workers never send the same message at the same time. Messages
of one notice or case go out in order: a row waits while an older row of the same ref is pending.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from streetwarden.store.errors import Conflict, NotFound
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.schema import now
from streetwarden.store.timefmt import iso
from streetwarden.config import WebhooksConfig


def enqueue(s: Session, hooks: WebhooksConfig, event_type: str, ref: str, data: dict[str, Any],
            at: float | None = None) -> OutboxMessage | None:
    """Add a webhook event to the caller's transaction; None when webhooks are off or the type is not wanted."""
    if not hooks.url or event_type not in hooks.events:
        return None
    at = now() if at is None else at
    key = uuid.uuid4().hex
    payload = {"id": key, "type": event_type, "occurred_at": iso(at), "data": data}
    row = OutboxMessage(event_type=event_type, aggregate_ref=ref, idempotency_key=key, payload=payload,
                        status="pending", attempts=0, next_attempt_at=at, created_at=at, updated_at=at)
    s.add(row)
    s.flush()
    return row


def claim_due(s: Session, worker_id: str, at: float, lease_seconds: float, limit: int = 20) -> list[int]:
    """Ids of due messages now leased to `worker_id` (commits the claim)."""
    older = aliased(OutboxMessage)
    blocked = exists().where(and_(older.aggregate_ref == OutboxMessage.aggregate_ref, older.id < OutboxMessage.id,
                                  older.status == "pending"))
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < at)
    ids = s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at,
                                                   free, ~blocked).order_by(OutboxMessage.id).limit(limit)).all()
    got = []
    for mid in ids:
        res = s.execute(update(OutboxMessage).where(OutboxMessage.id == mid, OutboxMessage.status == "pending", free)
                        .values(claimed_by=worker_id, claimed_until=at + lease_seconds))
        if res.rowcount == 1:
            got.append(mid)
    s.commit()
    return got


def release(s: Session, ids: list[int], worker_id: str) -> None:
    """Give back claims not worked on (a stopping worker), so the next worker need not wait for the lease."""
    if ids:
        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker_id,
                                              OutboxMessage.status == "pending")
                  .values(claimed_by=None, claimed_until=None))
        s.commit()


def mark_delivered(s: Session, mid: int, status_code: int, at: float) -> None:
    s.execute(update(OutboxMessage).where(OutboxMessage.id == mid).values(
        status="delivered", delivered_at=at, last_status_code=status_code, last_error=None,
        attempts=OutboxMessage.attempts + 1, claimed_by=None, claimed_until=None, updated_at=at))
    s.commit()


def mark_failed(s: Session, mid: int, error: str, status_code: int | None, at: float, hooks: WebhooksConfig) -> str:
    """Record a failed attempt; schedules the retry with exponential backoff or dead-letters. Returns the new status."""
    row = s.get(OutboxMessage, mid)
    if row is None:
        return "missing"
    row.attempts += 1
    row.last_error, row.last_status_code = error[:500], status_code
    row.claimed_by, row.claimed_until, row.updated_at = None, None, at
    if row.attempts >= hooks.max_attempts:
        row.status = "dead"
    else:
        row.next_attempt_at = at + backoff(hooks, row.attempts)
    s.commit()
    return row.status


def backoff(hooks: WebhooksConfig, attempts: int) -> float:
    """Delay after the n-th failed attempt: backoff, 2×backoff, 4×backoff … capped."""
    return min(hooks.backoff_max_seconds, hooks.backoff_seconds * 2 ** max(0, attempts - 1))


def list_messages(s: Session, status: str | None = None, limit: int = 100, after_id: int = 0) -> list[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.id > after_id).order_by(OutboxMessage.id).limit(limit)
    if status:
        q = q.where(OutboxMessage.status == status)
    return list(s.scalars(q).all())


def redeliver(s: Session, mid: int, at: float | None = None) -> OutboxMessage:
    """Put a dead (or delivered) message back in the queue with fresh attempts; same idempotency key."""
    row = s.get(OutboxMessage, mid)
    if row is None:
        raise NotFound(f"delivery {mid} does not exist")
    if row.status == "pending":
        raise Conflict(f"delivery {mid} is already pending (attempt {row.attempts + 1} due {iso(row.next_attempt_at)})")
    at = now() if at is None else at
    row.status, row.attempts, row.next_attempt_at = "pending", 0, at
    row.claimed_by = row.claimed_until = None
    row.updated_at = at
    s.flush()
    return row


def message_json(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "event_type": row.event_type, "ref": row.aggregate_ref, "idempotency_key": row.idempotency_key,
        "status": row.status, "attempts": row.attempts, "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
        "last_error": row.last_error, "last_status_code": row.last_status_code, "delivered_at": iso(row.delivered_at),
        "created_at": iso(row.created_at),
    }
