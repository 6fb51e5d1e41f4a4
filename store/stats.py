"""Enforcement statistics per day, camera and violation: how many violations end with a warning.

Each candidate counts on the day it was captured (in the caller's time zone): captured, confirmed
(a notice or case was issued, or a reviewer confirmed it), rejected, warned (a notice), complied
after warning, escalated (a notice that became a case), cases (any case), and the share of confirmed
violations closed without a case (complied with a warning, or cancelled by a supervisor).
Aggregated in Python so the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.schema import Candidate

COUNTERS = ("captured", "confirmed", "rejected", "warned", "complied", "escalated", "cases", "closed_without_case")
CONFIRMED_STATUSES = ("confirmed", "warned", "warn", "case", "escalated")


def _share(row: dict[str, Any]) -> dict[str, Any]:
    row["share_closed_without_case"] = round(row["closed_without_case"] / row["confirmed"], 4) if row["confirmed"] else None
    return row


def daily_stats(s: Session, since: float, until: float, *, tz_offset_minutes: int = 0, camera_id: str | None = None,
                violation: str | None = None) -> dict[str, Any]:
    """Rows per (day, camera, violation) for candidates captured in [since, until), plus totals."""
    tz = timezone(timedelta(minutes=tz_offset_minutes))
    q = select(Candidate.id, Candidate.created_at, Candidate.camera_id, Candidate.violation, Candidate.status).where(
        Candidate.created_at >= since, Candidate.created_at < until)
    if camera_id:
        q = q.where(Candidate.camera_id == camera_id)
    if violation:
        q = q.where(Candidate.violation == violation)
    cands = s.execute(q).all()
    ids = [c.id for c in cands]
    notices: dict[int, str] = {}
    cases: set[int] = set()
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for cid, status in s.execute(select(Notice.candidate_id, Notice.status).where(Notice.candidate_id.in_(chunk))):
            notices[cid] = status
        cases.update(s.scalars(select(Case.candidate_id).where(Case.candidate_id.in_(chunk))))
    rows: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for c in cands:
        day = datetime.fromtimestamp(c.created_at, tz).date().isoformat()
        r = rows[(day, c.camera_id, c.violation)]
        notice = notices.get(c.id)
        has_case = c.id in cases
        r["captured"] += 1
        r["rejected"] += int(c.status == "rejected")
        confirmed = notice is not None or has_case or c.status in CONFIRMED_STATUSES
        r["confirmed"] += int(confirmed)
        r["warned"] += int(notice is not None)
        r["complied"] += int(notice == "complied")
        r["escalated"] += int(notice == "escalated")
        r["cases"] += int(has_case)
        r["closed_without_case"] += int(notice in ("complied", "cancelled") and not has_case)
    out = [_share({"day": k[0], "camera_id": k[1], "violation": k[2], **v}) for k, v in sorted(rows.items())]
    totals = dict.fromkeys(COUNTERS, 0)
    for r in out:
        for key in COUNTERS:
            totals[key] += r[key]
    return {"rows": out, "totals": _share(totals), "tz_offset_minutes": tz_offset_minutes}
