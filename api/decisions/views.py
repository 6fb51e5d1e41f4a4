"""Routes: decide a candidate; the decision history."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from streetwarden.api.auth.service import READERS, REVIEWERS, Principal, require
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.decisions import corrections, service
from streetwarden.api.decisions.models import (
    ConflictOut, DecisionIn, DecisionKind, DecisionOut, HistoryPage, RejectReason, UndoOut,
)
from streetwarden.api.errors import responses
from streetwarden.api.candidates.service import pending_counts
from streetwarden.api.http_errors import http_errors
from streetwarden.detectors.object_classes import object_classes
from streetwarden.logs import event
from streetwarden.store.audit import record
from streetwarden.store.decision_undo import NotYours, undo_decision
from streetwarden.api.values import (
    ID_PATTERN, CandidateId, Violation, bad_request_value, decode_cursor, encode_cursor, json_response, to_seconds,
)

router = APIRouter(prefix="/api/v1", tags=["decisions"])
log = logging.getLogger("streetwarden.api")


@router.post("/candidates/{candidate_id}/decision", response_model=DecisionOut, summary="Decide a candidate",
             responses={**responses(401, 403, 404), 409: {"model": ConflictOut, "description":
                        "Already decided (the standing decision is returned) or claimed by another reviewer."}},
             description="warn or case confirm the violation (a warning notice / an enforcement case is to be "
             "issued), reject needs a reason, skip leaves it pending for others (and releases the claim; the "
             "skipper is not offered it again for `server.skip_seconds`). Records who and when, in the audit "
             "log too. Send an `Idempotency-Key` header to make retries safe: the same key and body get the "
             "same answer; the same key with another body gets 422. An optional `correction` (class and/or box) "
             "is stored with a warn, case or reject, shown with the candidate, audited (before → after), replayed "
             "with the answer on retry and taken back by undo; `dataset export` labels the frame with it.")
def decide(
    candidate_id: CandidateId, body: DecisionIn, request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$",
                                                  description="Client-chosen unique key (e.g. a UUID) of this "
                                                  "decision; retries send the same key.")] = None,
    me: Principal = Depends(require(*REVIEWERS)), ctx: AppContext = Depends(get_ctx),
) -> Response:
    fix = corrections.checked(body, object_classes(ctx.settings))
    try:
        status, payload = service.decide(ctx.db, me, candidate_id, body, idempotency_key, client_ip(request),
                                         lock=ctx.writing(), settings=ctx.settings, fix=fix)
    except service.IdempotencyMismatch:
        raise bad_request_value("header.Idempotency-Key", "this key was already used for a different request "
                                "(use a new key for a new decision)") from None
    return json_response(payload, status)


@router.post("/candidates/{candidate_id}/decision/undo", response_model=UndoOut, summary="Take a decision back",
             responses={**responses(401, 403, 404), 409: {"model": ConflictOut, "description":
                        "No decision to undo, or its undo window (`server.undo_seconds`) has closed."}},
             description="Within `server.undo_seconds` of a warn, case or reject, its reviewer can take it back: the "
             "held notice or case is dropped before any webhook or pull API client saw it, the candidate is pending "
             "again and claimed by the caller, and the audit log records the undo. After the window a supervisor "
             "withdraws the notice instead (POST /api/v1/notices/{ref}/withdraw).")
def undo(candidate_id: CandidateId, request: Request, me: Principal = Depends(require(*REVIEWERS)),
         ctx: AppContext = Depends(get_ctx)) -> UndoOut:
    at = time.time()
    server = ctx.settings.server
    try:
        with http_errors(), ctx.writing(), ctx.db.session() as s:
            done = undo_decision(s, candidate_id, me.user_id, at, server.undo_seconds, at + server.claim_seconds)
            record(s, "candidate.undo", actor=me.username, actor_id=me.user_id, target_type="candidate",
                   target_id=candidate_id, ip=client_ip(request), decision=done.decision, withdrawn=done.withdrawn)
    except NotYours as err:
        raise HTTPException(403, str(err)) from None
    pending_counts.clear()  # the decision count went down: this process's cached counts are stale
    event(log, "decision_undone", candidate=candidate_id, decision=done.decision, user=me.username,
          withdrawn=done.withdrawn)
    return UndoOut(candidate_id=candidate_id, undone=done.decision, withdrawn=done.withdrawn, status="pending")


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


