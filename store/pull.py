"""Pull API queries: notices or cases changed since a time, in pages that never skip or repeat a row.

Rows are ordered by (updated_at, id); the cursor is the last row's pair, so a row updated while a
client pages through moves behind the cursor and shows up again on a later page, never lost.
People browsing want the latest change first (`newest_first`): the same keyset, walked backwards;
there is nothing to resume then, so `resume_cursor` is None.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from streetwarden.store.errors import Invalid
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import case_json, notice_json
from streetwarden.store.schema import now

MAX_LIMIT = 500
MAX_ROW_ID = 2**63 - 1  # what a BIGINT column holds


def encode_cursor(updated_at: float, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([repr(updated_at), row_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts_text, row_id = json.loads(raw)
        ts = float(ts_text)
    except (ValueError, TypeError, json.JSONDecodeError) as err:
        raise Invalid(f"cursor: not a cursor this API returned ({type(err).__name__})") from None
    # a forged or corrupted cursor must not reach the database as 1e30 or 2**64 (an overflow there is a 500)
    if type(row_id) is not int or not 0 <= row_id <= MAX_ROW_ID or not math.isfinite(ts) or abs(ts) > 1e12:
        raise Invalid("cursor: not a cursor this API returned (values out of range); use next_cursor or "
                      "resume_cursor as given")
    return ts, row_id


def changed_page(s: Session, kind: str, *, updated_since: float | None = None, cursor: str | None = None,
                 limit: int = 100, status: str | None = None, newest_first: bool = False) -> dict[str, Any]:
    """One page of notices or cases; `next_cursor` is None on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit: must be 1-{MAX_LIMIT}, got {limit}")
    model: type[Notice] | type[Case] = {"notices": Notice, "cases": Case}[kind]
    # a notice or case still in its reviewer's undo window is dated to the window's end: not listed before then,
    # and then after any cursor handed out meanwhile, so nothing is skipped
    q = select(model).where(model.ref.is_not(None), model.updated_at <= now())
    if updated_since is not None:
        q = q.where(model.updated_at >= updated_since)
    if status:
        q = q.where(model.status == status)
    if cursor:
        ts, row_id = decode_cursor(cursor)
        if newest_first:
            q = q.where(or_(model.updated_at < ts, and_(model.updated_at == ts, model.id < row_id)))
        else:
            q = q.where(or_(model.updated_at > ts, and_(model.updated_at == ts, model.id > row_id)))
    order = (model.updated_at.desc(), model.id.desc()) if newest_first else (model.updated_at, model.id)
    rows = list(s.scalars(q.order_by(*order).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    to_json = notice_json if kind == "notices" else case_json
    items = [to_json(s, r) for r in rows]  # type: ignore[arg-type]
    last = rows[-1] if rows else None
    resume = None if newest_first else (encode_cursor(last.updated_at, last.id) if last else cursor)
    return {"items": items, "next_cursor": encode_cursor(last.updated_at, last.id) if (more and last) else None,
            "resume_cursor": resume}
