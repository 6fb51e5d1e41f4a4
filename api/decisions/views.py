"""Routes: decide a candidate; the decision history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from streetwarden.api.auth.service import READERS, REVIEWERS, Principal, require
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.decisions import service
from streetwarden.api.decisions.models import ConflictOut, DecisionIn, DecisionKind, DecisionOut, HistoryPage, RejectReason
from streetwarden.api.errors import responses
from streetwarden.api.values import (
    ID_PATTERN, CandidateId, Violation, bad_request_value, decode_cursor, encode_cursor, json_response, to_seconds,
)

router = APIRouter(prefix="/api/v1", tags=["decisions"])


@router.post("/candidates/{candidate_id}/decision", response_model=DecisionOut, summary="Decide a candidate",
             responses={**responses(401, 403, 404), 409: {"model": ConflictOut, "description":
                        "Already decided (the standing decision is returned) or claimed by another reviewer."}},
             description="warn or case confirm the violation (a warning notice / an enforcement case is to be "
             "issued), reject needs a reason, skip leaves it pending for others (and releases the claim; the "
             "skipper is not offered it again for `server.skip_seconds`). Records who and when, in the audit "
             "log too. Send an `Idempotency-Key` header to make retries safe: the same key and body get the "
             "same answer; the same key with another body gets 422.")
def decide(
    candidate_id: CandidateId, body: DecisionIn, request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$",
                                                  description="Client-chosen unique key (e.g. a UUID) of this "
                                                  "decision; retries send the same key.")] = None,
    me: Principal = Depends(require(*REVIEWERS)), ctx: AppContext = Depends(get_ctx),
) -> Response:
    try:
        status, payload = service.decide(ctx.db, me, candidate_id, body, idempotency_key, client_ip(request),
                                         lock=ctx.writing(), settings=ctx.settings)
    except service.IdempotencyMismatch:
        raise bad_request_value("header.Idempotency-Key", "this key was already used for a different request "
                                "(use a new key for a new decision)") from None
    return json_response(payload, status)


@router.get("/decisions", response_model=HistoryPage, responses=responses(401, 403), summary="Decision history",
            description="Final decisions, newest first, with search (`q` matches note, reviewer, camera, zone, "
            "label or candidate id) and filters.")
def history(
    q: Annotated[str | None, Query(max_length=200, description="Search text.")] = None,
    decision: Annotated[DecisionKind | None, Query(description="Only this decision (warn, case, reject).")] = None,
    reason: Annotated[RejectReason | None, Query(description="Only this reject reason.")] = None,
    user: Annotated[str | None, Query(max_length=64, description="Only decisions by this username.")] = None,
    camera_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this camera.")] = None,
    violation: Annotated[Violation | None, Query(description="Only this violation type.")] = None,
    since: Annotated[datetime | None, Query(description="Decided at or after (ISO 8601 or Unix seconds).")] = None,
    until: Annotated[datetime | None, Query(description="Decided at or before (ISO 8601 or Unix seconds).")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size, 1-200.")] = 50,
    _: Principal = Depends(require(*READERS)), ctx: AppContext = Depends(get_ctx),
) -> HistoryPage:
    if decision == DecisionKind.skip:
        raise bad_request_value("query.decision", "skips are not final decisions (see the audit log)")
    with ctx.db.session() as s:
        items, last = service.history(
            s, q.strip() if q else None, decision.value if decision else None, reason.value if reason else None, user,
            camera_id, violation.value if violation else None, to_seconds(since), to_seconds(until),
            decode_cursor(cursor), limit)
    return HistoryPage(items=items, next_cursor=encode_cursor(last) if last else None)


