"""Reading the audit log (writing is store.audit.record, inside each change's transaction)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.store.audit import AuditEntry


def page(s: Session, action: str | None, actor: str | None, target_type: str | None, target_id: str | None,
         before: int | None, limit: int) -> tuple[list[AuditEntry], int | None]:
    q = select(AuditEntry)
    if action:
        q = q.where(AuditEntry.action == action)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if target_type:
        q = q.where(AuditEntry.target_type == target_type)
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    if before is not None:
        q = q.where(AuditEntry.id < before)
    rows = list(s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
