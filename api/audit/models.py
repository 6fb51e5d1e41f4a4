"""Bodies of the audit routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditOut(BaseModel):
    """One audit entry."""

    id: int = Field(description="Entry id (increasing).")
    at: datetime = Field(description="When (UTC).")
    actor: str | None = Field(description="Username, or null for the system.")
    action: str = Field(description="What happened, e.g. auth.login, candidate.claim, candidate.decide, zones.replace.")
    target_type: str | None = Field(description="Kind of object acted on (candidate, camera, user).")
    target_id: str | None = Field(description="Its id.")
    details: dict[str, Any] = Field(description="Action-specific facts (decision, reason, zones before/after, …).")
    ip: str | None = Field(description="Client address.")


class AuditPage(BaseModel):
    """One page of the audit log, newest first."""

    items: list[AuditOut] = Field(description="Entries of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
