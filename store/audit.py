"""The append-only audit log: every login, claim, decision and zone change, with who and when.

Rows are only ever inserted. The ORM refuses updates and deletes of AuditEntry, and the database
itself refuses them too (triggers on SQLite and PostgreSQL, made by migrations 0001 and 0002 in
store/migrations): UPDATE, DELETE, upserts, SQLite's REPLACE (an insert whose id exists) and
PostgreSQL's TRUNCATE, so not even hand-written SQL changes history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from streetwarden.store.schema import Base, now


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, default=now, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), doc="Username, or None for the system")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx, _instances) -> None:  # type: ignore[no-untyped-def]
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("audit_log is append-only")


def record(s: Session, action: str, *, actor: str | None = None, actor_id: int | None = None,
           target_type: str | None = None, target_id: object = None, ip: str | None = None,
           **details: Any) -> None:
    """Append one entry (committed with the caller's unit of work, so it exists iff the change does).

    A plain INSERT rather than an ORM object: it sits inside the hot claim and decide transactions."""
    s.execute(insert(AuditEntry.__table__).values(
        at=now(), actor=actor, actor_id=actor_id, action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), details=details, ip=ip))
