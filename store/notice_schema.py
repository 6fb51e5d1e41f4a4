"""Tables of the enforcement side: warning notices, cases and each case's status history.

A notice or case copies the place (camera, zone, address, latitude/longitude) and the time range of
its candidate when it is issued, so later edits of the camera or zone never change what was served.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from streetwarden.store.schema import Base, Candidate, now

NOTICE_STATUSES = ("open", "awaiting_supervisor", "complied", "escalated", "cancelled", "withdrawn")
CASE_STATUSES = ("open", "accepted", "closed", "rejected")


class _Place:
    """Columns a notice and a case share: what was seen, where and when."""

    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    zone_id: Mapped[str] = mapped_column(String(64))
    violation: Mapped[str] = mapped_column(String(32), index=True)
    label: Mapped[str] = mapped_column(String(64))
    box: Mapped[list[Any]] = mapped_column(JSON, doc="[x1, y1, x2, y2] in source pixels")
    frame_width: Mapped[int] = mapped_column(Integer, default=0)
    frame_height: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    live: Mapped[bool] = mapped_column(Boolean, default=True, doc="first/last_seen are Unix time (else seconds into a file)")
    shop_id: Mapped[str | None] = mapped_column(String(64), index=True)
    plate_text: Mapped[str | None] = mapped_column(String(16))
    plate_confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, index=True)


class Notice(_Place, Base):
    """A warning: the offender is told and has `grace_seconds` to comply before the camera re-checks."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_check", "status", "next_check_at"), Index("ix_notices_updated", "updated_at", "id"),
                      {"sqlite_autoincrement": True})  # an undone notice's id (and ref) is never given again

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True, doc="Stable public id, e.g. SW-N-000042")
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="open")
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[float] = mapped_column(Float, default=now)
    grace_seconds: Mapped[float] = mapped_column(Float)
    deadline: Mapped[float] = mapped_column(Float)
    next_check_at: Mapped[float] = mapped_column(Float)
    recheck_attempts: Mapped[int] = mapped_column(Integer, default=0)
    recheck_note: Mapped[str | None] = mapped_column(Text, doc="Why the last re-check was postponed, or what it found")
    checked_at: Mapped[float | None] = mapped_column(Float)
    recheck_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    closed_at: Mapped[float | None] = mapped_column(Float)
    close_reason: Mapped[str | None] = mapped_column(String(32), doc="complied | escalated | cancelled | withdrawn")
    note: Mapped[str | None] = mapped_column(Text)

    candidate: Mapped[Candidate] = relationship()


class Case(_Place, Base):
    """An enforcement case, handed to the city's case-management system, which drives its status."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_updated", "updated_at", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True, doc="Stable public id, e.g. SW-C-000042")
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16), doc="decision | escalation | supervisor")
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str | None] = mapped_column(Text, doc="Outcome given by the case system when it closes or rejects")
    external_id: Mapped[str | None] = mapped_column(String(100), doc="The case system's own id")
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

    candidate: Mapped[Candidate] = relationship()
    notice: Mapped[Notice | None] = relationship()
    history: Mapped[list["CaseHistory"]] = relationship(back_populates="case", cascade="all, delete-orphan", order_by="CaseHistory.id")


class CaseHistory(Base):
    """One status change of a case: who (user or integration), from what, to what, and why."""

    __tablename__ = "case_history"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), doc="reviewer | supervisor | system | integration")
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float, default=now)

    case: Mapped[Case] = relationship(back_populates="history")
