"""Server-sent events: the queue page hears of new candidates and decisions as they happen.

Each stream polls two primary-key maxima (newest candidate, newest decision) once a second, in a
worker thread, and sends a `queue` event when they change; the page then refreshes its counts and,
when it runs short, claims the new work. A stream ends after STREAM_SECONDS and the browser's
EventSource reconnects by itself, so a server shutdown never waits on an open stream for long.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from streetwarden.api.auth.service import REVIEWERS, Principal, require
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.api.errors import responses
from streetwarden.store.db import Database
from streetwarden.store.review import Decision
from streetwarden.store.schema import Candidate

router = APIRouter(prefix="/api/v1", tags=["candidates"])
POLL_SECONDS = 1.0
STREAM_SECONDS = 20.0
KEEPALIVE_SECONDS = 10.0


def queue_state(db: Database) -> dict[str, int]:
    """Two index look-ups: they change whenever a candidate arrives or a decision is made or undone."""
    with db.session() as s:
        return {"newest_candidate": s.scalar(select(func.max(Candidate.id))) or 0,
                "last_decision": s.scalar(select(func.max(Decision.id))) or 0,
                "decisions": s.scalar(select(func.count()).select_from(Decision.__table__)) or 0}


@router.get("/events", summary="Live queue changes (server-sent events)", response_class=StreamingResponse,
            responses={**responses(401, 403), 200: {"content": {"text/event-stream": {}}, "description":
                             "`event: queue` with `{newest_candidate, last_decision, decisions}` whenever they change "
                             "(first on connect); comment lines keep the connection alive."}},
            description="A `text/event-stream` for the queue page: an event when a candidate arrives or a decision "
            "is made or undone. The stream closes after 20 s; EventSource reconnects on its own (`retry: 1000`).")
async def events(request: Request, _: Principal = Depends(require(*REVIEWERS)),
                 ctx: AppContext = Depends(get_ctx)) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        last: dict[str, int] | None = None
        end = time.monotonic() + STREAM_SECONDS
        quiet_since = time.monotonic()
        while time.monotonic() < end and not await request.is_disconnected():
            state = await anyio.to_thread.run_sync(queue_state, ctx.db)
            if state != last:
                last, quiet_since = state, time.monotonic()
                yield f"event: queue\ndata: {json.dumps(state)}\n\n"
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
            await anyio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
