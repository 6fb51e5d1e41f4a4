"""Routes: the candidate list, claims (leases), counts, one candidate, and evidence files."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse

from streetwarden.api.auth.service import READERS, REVIEWERS, SUPERVISORS, Principal, require
from streetwarden.api.candidates import service
from streetwarden.api.candidates.models import CandidateOut, CandidatePage, ClaimIn, ClaimOut, ListFilters, QueueStats
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.errors import ApiError, ErrorOut, responses
from streetwarden.api.ranges import check_range
from streetwarden.api.values import (
    ID_PATTERN, MAX_ID, CandidateId, CandidateStatus, Violation, decode_cursor, encode_cursor, json_response, to_seconds,
)
from streetwarden.store.schema import Candidate, Evidence

router = APIRouter(prefix="/api/v1", tags=["candidates"])


class Order(str, Enum):
    """List order by candidate id."""

    newest = "newest"
    oldest = "oldest"


StatusQ = Annotated[CandidateStatus | None, Query(description="Only this status: pending, warned, case or rejected.")]
ViolationQ = Annotated[Violation | None, Query(description="Only this violation type.")]
CameraQ = Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this camera id.")]
SinceQ = Annotated[datetime | None, Query(description="Only candidates seen at or after this time: ISO 8601 "
                                          "(UTC if no offset) or Unix seconds; for recorded files, seconds from the start.")]
UntilQ = Annotated[datetime | None, Query(description="Only candidates seen at or before this time (same forms as since).")]


@router.get("/candidates", response_model=CandidatePage, responses=responses(401, 403), summary="List candidates",
            description="Candidates with filters, newest first by default, paginated by an opaque cursor "
            "(pass `next_cursor` back as `cursor`).")
def list_candidates(
    status: StatusQ = None, violation: ViolationQ = None, camera_id: CameraQ = None, since: SinceQ = None,
    until: UntilQ = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size, 1-200.")] = 50,
    order: Annotated[Order, Query(description="newest (default) or oldest first.")] = Order.newest,
    me: Principal = Depends(require(*READERS)), ctx: AppContext = Depends(get_ctx),
) -> Response:
    f = ListFilters(status=status, violation=violation, camera_id=camera_id, since=to_seconds(since), until=to_seconds(until))
    after = decode_cursor(cursor)
    with ctx.db.session() as s:
        rows, last = service.list_candidates(s, f, after, limit, order == Order.newest)
        items = service.candidate_payloads(s, [r.id for r in rows], me, rows={r.id: r for r in rows})
    return json_response({"items": items, "next_cursor": encode_cursor(last) if last else None})


@router.get("/candidates/stats", response_model=QueueStats, responses=responses(401, 403), summary="Queue counts",
            description="How many candidates are left, per violation, and who holds claims (with the same filters "
            "as the queue).")
def queue_stats(violation: ViolationQ = None, camera_id: CameraQ = None, me: Principal = Depends(require(*REVIEWERS)),
                ctx: AppContext = Depends(get_ctx)) -> QueueStats:
    with ctx.db.session() as s:
        return QueueStats(**service.stats(s, me, ListFilters(violation=violation, camera_id=camera_id),
                                          ctx.settings.server.skip_seconds))


@router.post("/candidates/claim", response_model=ClaimOut, responses=responses(401, 403), summary="Claim the next candidates",
             description="Returns the caller's working set: their live claims (renewed) and then the oldest free "
             "pending candidates, up to `count`. Nobody else is given a claimed candidate until the claim is "
             "decided, released or expires (`server.claim_seconds`). Call again to renew (heartbeat). Claims of "
             "the caller outside this working set (other filters) are released.")
def claim(body: ClaimIn, request: Request, me: Principal = Depends(require(*REVIEWERS)),
          ctx: AppContext = Depends(get_ctx)) -> Response:
    f = ListFilters(violation=body.violation, camera_id=body.camera_id)
    lease = ctx.settings.server.claim_seconds
    items, expires = service.claim(ctx.db, me, body.count, f, lease, ctx.settings.server.skip_seconds,
                                   client_ip(request), lock=ctx.writing())
    return json_response({"items": items, "lease_seconds": lease, "expires_at": expires})


@router.delete("/candidates/claims", responses=responses(401, 403), summary="Release all my claims",
               description="Gives back every candidate the caller holds (e.g. when leaving the queue page).",
               response_model=dict[str, int])
def release_all(request: Request, me: Principal = Depends(require(*REVIEWERS)),
                ctx: AppContext = Depends(get_ctx)) -> dict[str, int]:
    with ctx.db.session() as s:
        return {"released": service.release_all(s, me, client_ip(request))}


@router.get("/candidates/{candidate_id}", response_model=CandidateOut, responses=responses(401, 403, 404),
            summary="One candidate", description="A candidate with its evidence, claim and decision.")
def get_candidate(candidate_id: CandidateId, me: Principal = Depends(require(*READERS)),
                  ctx: AppContext = Depends(get_ctx)) -> Response:
    with ctx.db.session() as s:
        items = service.candidate_payloads(s, [candidate_id], me)
    if not items:
        raise HTTPException(404, f"no candidate {candidate_id}")
    return json_response(items[0])


@router.post("/candidates/{candidate_id}/release", status_code=204, responses=responses(
                 401, 403, 404, t403="The role may not do this, or another reviewer holds the claim "
                 "(code `not_your_claim`: only they, a supervisor or an admin can release it)."),
             summary="Release a claim", description="Gives the candidate back to the queue. Reviewers release "
             "their own claim; supervisors and admins may release anyone's.")
def release(candidate_id: CandidateId, request: Request, me: Principal = Depends(require(*REVIEWERS)),
            ctx: AppContext = Depends(get_ctx)) -> Response:
    with ctx.db.session() as s:
        if s.get(Candidate, candidate_id) is None:
            raise HTTPException(404, f"no candidate {candidate_id}")
        force = me.role in {r.value for r in SUPERVISORS}
        try:
            service.release(s, me, candidate_id, force, client_ip(request))
        except service.NotYourClaim as err:
            raise ApiError(403, f"candidate {candidate_id} is claimed by {err.holder}: only they, a supervisor or "
                           "an admin can release it", "not_your_claim") from None
    return Response(status_code=204)


@router.get("/evidence/{evidence_id}", response_class=FileResponse, responses={
    **responses(401, 403, 404), 200: {"content": {"image/jpeg": {}, "video/mp4": {}}, "description": "The evidence file."},
    206: {"description": "The requested byte range (Range header): how a <video> seeks in a clip."},
    400: {"model": ErrorOut, "description": "A malformed Range header (code bad_range)."},
    416: {"model": ErrorOut, "description": "A Range past the end of the file (code range_not_satisfiable)."}},
    summary="An evidence file", description="The stored JPEG or MP4 clip; its ETag is the SHA-256 kept in the database.")
def evidence_file(evidence_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Evidence id.")], request: Request,
                  _: Principal = Depends(require(*READERS)), ctx: AppContext = Depends(get_ctx)) -> FileResponse:
    with ctx.db.session() as s:
        ev = s.get(Evidence, evidence_id)
        if ev is None:
            raise HTTPException(404, f"no evidence {evidence_id}")
        rel, digest, media_type = ev.path, ev.sha256, ev.media_type
    root = ctx.settings.storage_path.resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        raise HTTPException(404, f"evidence {evidence_id}: file missing from storage")
    check_range(request.headers.get("range"), path.stat().st_size)
    return FileResponse(path, media_type=media_type, headers={
        "ETag": f'"{digest}"', "Cache-Control": "private, max-age=86400, immutable"})
