"""Routes: the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from streetwarden.api.audit import service
from streetwarden.api.audit.models import AuditOut, AuditPage
from streetwarden.api.auth.service import SUPERVISORS, Principal, require
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.api.errors import responses
from streetwarden.api.values import decode_cursor, encode_cursor, iso

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage, responses=responses(401, 403), summary="Audit log",
            description="Every login, claim, decision and zone change, newest first (supervisors and admins). "
            "The log is append-only: the database refuses updates and deletes.")
def audit_log(
    action: Annotated[str | None, Query(max_length=64, description="Only this action, e.g. candidate.decide.")] = None,
    actor: Annotated[str | None, Query(max_length=64, description="Only this username.")] = None,
    target_type: Annotated[str | None, Query(max_length=32, description="Only this kind of object.")] = None,
    target_id: Annotated[str | None, Query(max_length=64, description="Only this object id.")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1-500.")] = 100,
    _: Principal = Depends(require(*SUPERVISORS)), ctx: AppContext = Depends(get_ctx),
) -> AuditPage:
    with ctx.db.session() as s:
        rows, last = service.page(s, action, actor, target_type, target_id, decode_cursor(cursor), limit)
        items = [AuditOut(id=r.id, at=iso(r.at), actor=r.actor, action=r.action, target_type=r.target_type,
                          target_id=r.target_id, details=r.details or {}, ip=r.ip) for r in rows]
    return AuditPage(items=items, next_cursor=encode_cursor(last) if last else None)
