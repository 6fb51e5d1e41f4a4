"""Routes of the case-system integration: pull (notices, cases), status back, webhook deliveries."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from streetwarden.api.deps import Principal, get_db, get_settings, require_role
from streetwarden.api.errors import responses
from streetwarden.api.http_errors import http_errors
from streetwarden.api.integration.models import CaseOut, CasePage, Delivery, NoticeOut, NoticePage, StatusChange, StatusResult
from streetwarden.store.db import Database
from streetwarden.store.notices import case_json, change_case_status, get_case, get_notice, notice_json
from streetwarden.store.outbox import list_messages, message_json, redeliver
from streetwarden.api.values import MAX_ID
from streetwarden.store.pull import MAX_LIMIT, changed_page
from streetwarden.store.timefmt import parse_time
from streetwarden.config import Settings

router = APIRouter(prefix="/api/v1", tags=["integration"])
# reviewers read the lists too (the enforcement page shows what their decisions became)
READERS = require_role("reviewer", "supervisor", "admin", "integration")
REF = Path(pattern=r"^SW-[NC]-\d{6,}$", description="Stable id, e.g. SW-C-000042")

UpdatedSince = Annotated[str | None, Query(max_length=64, description="Only records changed at or after this time: ISO 8601 (2024-05-01T08:00:00Z) or Unix seconds, 1970 to 2100.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` or `resume_cursor` of an earlier page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
Order = Annotated[Literal["oldest", "newest"], Query(description="oldest: oldest change first (for pulling; `resume_cursor` set). newest: latest change first (for people browsing; `resume_cursor` is null).")]


def _page(db: Database, kind: str, updated_since: str | None, cursor: str | None, limit: int, status: str | None,
          order: str) -> dict:
    with http_errors():
        since = parse_time(updated_since, "updated_since") if updated_since else None
        with db.session() as s:
            return changed_page(s, kind, updated_since=since, cursor=cursor, limit=limit, status=status,
                                newest_first=order == "newest")


@router.get("/notices", response_model=NoticePage, responses=responses(401, 403), summary="Notices changed since a time, by last change",
            description="Pages through warning notices ordered by last change (`updated_at`, then id). Follow `next_cursor` until it is null; keep `resume_cursor` to fetch only later changes next time. `order=newest` lists the latest change first (the review pages).")
def list_notices(updated_since: UpdatedSince = None, cursor: Cursor = None, limit: Limit = 100,
                 status: Annotated[Literal["open", "awaiting_supervisor", "complied", "escalated", "cancelled", "withdrawn"] | None,
                                  Query(description="Only notices with this status.")] = None,
                 order: Order = "oldest", _: Principal = Depends(READERS), db: Database = Depends(get_db)) -> dict:
    return _page(db, "notices", updated_since, cursor, limit, status, order)


@router.get("/cases", response_model=CasePage, responses=responses(401, 403), summary="Cases changed since a time, by last change",
            description="Pages through enforcement cases ordered by last change (`updated_at`, then id). Follow `next_cursor` until it is null; keep `resume_cursor` to fetch only later changes next time. `order=newest` lists the latest change first (the review pages).")
def list_cases(updated_since: UpdatedSince = None, cursor: Cursor = None, limit: Limit = 100,
               status: Annotated[Literal["open", "accepted", "closed", "rejected"] | None, Query(description="Only cases with this status.")] = None,
               order: Order = "oldest", _: Principal = Depends(READERS), db: Database = Depends(get_db)) -> dict:
    return _page(db, "cases", updated_since, cursor, limit, status, order)


@router.get("/notices/{ref}", response_model=NoticeOut, responses=responses(401, 403, 404), summary="One notice",
            description="A warning notice by its ref (SW-N-…), with its re-check state and evidence.")
def read_notice(ref: Annotated[str, REF], _: Principal = Depends(READERS), db: Database = Depends(get_db)) -> dict:
    with http_errors(), db.session() as s:
        return notice_json(s, get_notice(s, ref))


@router.get("/cases/{ref}", response_model=CaseOut, responses=responses(401, 403, 404), summary="One case with its status history",
            description="An enforcement case by its ref (SW-C-…), with its status history and evidence.")
def read_case(ref: Annotated[str, REF], _: Principal = Depends(READERS), db: Database = Depends(get_db)) -> dict:
    with http_errors(), db.session() as s:
        return case_json(s, get_case(s, ref))


@router.post("/cases/{ref}/status", response_model=StatusResult, summary="Status back from the case system",
             description="Apply accepted / closed (with result) / rejected. Repeating the last change is harmless (`changed: false`); the change appears in the case history (the audit trail) and as a `case.updated` webhook.",
             responses=responses(401, 403, 404, 409, t404="No such case.", t409="Not allowed from the current status."))
def post_case_status(ref: Annotated[str, REF], change: StatusChange,
                     user: Principal = Depends(require_role("integration", "admin")),
                     db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict:
    """Apply accepted / closed (with result) / rejected. Repeating the last change is harmless
    (`changed: false`); the change appears in the case history (the audit trail) and as a
    `case.updated` webhook."""
    with http_errors(), db.session() as s:
        case, changed = change_case_status(s, ref, change.status, settings, actor=user.username, source="integration",
                                           result=change.result, note=change.note, external_id=change.external_id)
        return {"changed": changed, "case": case_json(s, case)}


@router.get("/webhooks/deliveries", response_model=list[Delivery], responses=responses(401, 403), summary="Webhook deliveries (dead letters with status=dead)",
            description="Webhook messages in id order, optionally only one status; page with `after_id` set to the last id seen.")
def list_deliveries(status: Annotated[Literal["pending", "delivered", "dead"] | None, Query(description="Only deliveries with this status.")] = None,
                    after_id: Annotated[int, Query(ge=0, le=MAX_ID, description="Only deliveries with a greater id (the last id of the previous page).")] = 0, limit: Limit = 100,
                    _: Principal = Depends(require_role("admin", "integration")), db: Database = Depends(get_db)) -> list[dict]:
    with db.session() as s:
        return [message_json(m) for m in list_messages(s, status, limit, after_id)]


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response_model=Delivery,
             responses=responses(401, 403, 404, 409, t409="The delivery is still pending."), summary="Send a delivery again",
             description="Queues a dead (or delivered) message again with fresh attempts and the same Idempotency-Key; 409 when it is still pending.")
def redeliver_one(delivery_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the delivery.")], _: Principal = Depends(require_role("admin", "integration")),
                  db: Database = Depends(get_db)) -> dict:
    """Queues a dead (or delivered) message again with fresh attempts and the same Idempotency-Key."""
    with http_errors(), db.session() as s:
        return message_json(redeliver(s, delivery_id))
