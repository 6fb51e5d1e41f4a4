"""Queue rules: which candidates a reviewer sees, leases on them, counts.

A claim hands a reviewer their working set: their live claims (renewed) plus the oldest free
pending candidates, each taken with one conditional statement (store.review.try_claim), so two
reviewers claiming at the same moment never get the same candidate. An abandoned claim simply
expires and the candidate is free again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, selectinload

from api.auth.service import Principal
from api.candidates.models import CandidateOut, ClaimInfo, DecisionInfo, EvidenceOut, ListFilters
from api.values import iso
from store.audit import record
from store.review import Claim, Decision, Skip, release_claim, try_claim
from store.schema import Camera, Candidate, ZoneRow
from store.users import User
from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")


def apply_filters(q, f: ListFilters):  # type: ignore[no-untyped-def]
    if f.status is not None:
        q = q.where(Candidate.status == f.status.value)
    if f.violation is not None:
        q = q.where(Candidate.violation == f.violation.value)
    if f.camera_id:
        q = q.where(Candidate.camera_id == f.camera_id)
    if f.since is not None:
        q = q.where(Candidate.last_seen >= f.since)
    if f.until is not None:
        q = q.where(Candidate.first_seen <= f.until)
    return q


def _names(s: Session, rows: Sequence[Candidate]) -> tuple[dict[str, Camera], dict[tuple[str, str], str | None]]:
    cams = {c for c in (r.camera_id for r in rows)}
    if not cams:
        return {}, {}
    cameras = {c.id: c for c in s.scalars(select(Camera).where(Camera.id.in_(cams))).all()}
    zones = {(z.camera_id, z.zone_id): z.name for z in
             s.execute(select(ZoneRow.camera_id, ZoneRow.zone_id, ZoneRow.name).where(ZoneRow.camera_id.in_(cams))).all()}
    return cameras, zones


def to_out(s: Session, rows: Sequence[Candidate], me: Principal, at: float | None = None) -> list[CandidateOut]:
    """Candidate rows with names, evidence links, claims and decisions (a fixed number of queries)."""
    if not rows:
        return []
    at = time.time() if at is None else at
    ids = [r.id for r in rows]
    cameras, zones = _names(s, rows)
    claims = {cid: (uid, name, exp) for cid, uid, name, exp in s.execute(
        select(Claim.candidate_id, Claim.user_id, User.username, Claim.expires_at).join(User, User.id == Claim.user_id)
        .where(Claim.candidate_id.in_(ids), Claim.expires_at > at)).all()}
    decisions = {d.candidate_id: d for d in s.scalars(select(Decision).where(Decision.candidate_id.in_(ids))).all()}
    out = []
    for r in rows:
        cam = cameras.get(r.camera_id)
        c = claims.get(r.id)
        d = decisions.get(r.id)
        out.append(CandidateOut(
            id=r.id, camera_id=r.camera_id, camera_name=cam.name if cam else None, address=cam.address if cam else None,
            zone_id=r.zone_id, zone_name=zones.get((r.camera_id, r.zone_id)), violation=r.violation, label=r.label,
            score=round(r.score, 4), status=r.status, box=[float(v) for v in r.box], frame_width=r.frame_width,
            frame_height=r.frame_height, live=r.live, first_seen=r.first_seen, last_seen=r.last_seen,
            first_seen_at=iso(r.first_seen) if r.live else None, last_seen_at=iso(r.last_seen) if r.live else None,
            active=r.active, created_at=iso(r.created_at), attributes=r.attributes or {},
            evidence=[EvidenceOut(id=e.id, kind=e.kind, url=f"/api/v1/evidence/{e.id}", sha256=e.sha256, width=e.width,
                                  height=e.height, ts=e.ts, note=e.note) for e in r.evidence],
            claim=ClaimInfo(user=c[1], expires_at=c[2], mine=c[0] == me.user_id) if c else None,
            decision=DecisionInfo(decision=d.decision, reason=d.reason, note=d.note, decided_by=d.username,
                                  decided_at=iso(d.decided_at)) if d else None,
        ))
    return out


def list_candidates(s: Session, f: ListFilters, after: int | None, limit: int, newest_first: bool) -> tuple[list[Candidate], int | None]:
    """Keyset pagination on id: (rows, last id if there is a next page)."""
    q = apply_filters(select(Candidate).options(selectinload(Candidate.evidence)), f)
    if after is not None:
        q = q.where(Candidate.id < after if newest_first else Candidate.id > after)
    q = q.order_by(Candidate.id.desc() if newest_first else Candidate.id.asc()).limit(limit + 1)
    rows = list(s.scalars(q).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def _free(at: float, user_id: int, skip_since: float):  # type: ignore[no-untyped-def]
    """SQL conditions: no live claim of someone else, not recently skipped by this reviewer."""
    live_claim = exists().where(Claim.candidate_id == Candidate.id, Claim.expires_at > at)
    skipped = exists().where(Skip.candidate_id == Candidate.id, Skip.user_id == user_id, Skip.skipped_at > skip_since)
    return and_(~live_claim, ~skipped)


def claim(db, me: Principal, count: int, f: ListFilters, lease: float, skip_seconds: float,  # type: ignore[no-untyped-def]
          ip: str | None = None) -> tuple[list[CandidateOut], float]:
    """The caller's working set for these filters, at most `count` candidates, oldest first."""
    at = time.time()
    expires = at + lease
    pending = ListFilters(status="pending", violation=f.violation, camera_id=f.camera_id)
    with db.session() as s:
        held_q = apply_filters(select(Candidate.id).join(Claim, Claim.candidate_id == Candidate.id)
                               .where(Claim.user_id == me.user_id, Claim.expires_at > at), pending)
        held = list(s.scalars(held_q.order_by(Candidate.id)).all())
        keep, drop = held[:count], held[count:]
        mine_all = s.scalars(select(Claim.candidate_id).where(Claim.user_id == me.user_id)).all()
        for cid in set(mine_all) - set(keep) | set(drop):  # claims outside this working set are let go
            release_claim(s, cid, me.user_id)
        for cid in keep:
            try_claim(s, cid, me.user_id, at, expires)  # renew
    got: list[int] = []
    for _round in range(4):
        need = count - len(keep) - len(got)
        if need <= 0:
            break
        with db.session() as s:
            q = apply_filters(select(Candidate.id), pending).where(_free(at, me.user_id, at - skip_seconds))
            if got:
                q = q.where(Candidate.id.not_in(got))
            ids = list(s.scalars(q.order_by(Candidate.id).limit(need + 4)).all())
        if not ids:
            break
        with db.session() as s:
            for cid in ids:
                if try_claim(s, cid, me.user_id, at, expires):
                    got.append(cid)
                    record(s, "candidate.claim", actor=me.username, actor_id=me.user_id, target_type="candidate",
                           target_id=cid, ip=ip, expires_at=round(expires, 3))
                    if len(got) >= need:
                        break
    if got:
        event(log, "candidates_claimed", user=me.username, candidates=got)
    with db.session() as s:
        wanted = keep + got
        rows = s.scalars(select(Candidate).options(selectinload(Candidate.evidence))
                         .where(Candidate.id.in_(wanted), Candidate.status == "pending").order_by(Candidate.id)).all()
        return to_out(s, rows, me, at), expires


def release(s: Session, me: Principal, candidate_id: int, force: bool, ip: str | None) -> bool:
    n = release_claim(s, candidate_id, None if force else me.user_id)
    if n:
        record(s, "candidate.release", actor=me.username, actor_id=me.user_id, target_type="candidate",
               target_id=candidate_id, ip=ip)
    return bool(n)


def release_all(s: Session, me: Principal, ip: str | None) -> int:
    ids = s.scalars(select(Claim.candidate_id).where(Claim.user_id == me.user_id)).all()
    for cid in ids:
        release_claim(s, cid, me.user_id)
    if ids:
        record(s, "candidate.release_all", actor=me.username, actor_id=me.user_id, ip=ip, candidates=list(ids))
    return len(ids)


def stats(s: Session, me: Principal, f: ListFilters, skip_seconds: float) -> dict:
    at = time.time()
    pending = ListFilters(status="pending", violation=f.violation, camera_id=f.camera_id)
    by_violation = dict(s.execute(apply_filters(select(Candidate.violation, func.count()), pending)
                                  .group_by(Candidate.violation)).all())
    total = sum(by_violation.values())
    claims = s.execute(apply_filters(
        select(Claim.user_id == me.user_id, func.count()).join(Candidate, Candidate.id == Claim.candidate_id)
        .where(Claim.expires_at > at), pending).group_by(Claim.user_id == me.user_id)).all()
    mine = sum(n for is_me, n in claims if is_me)
    others = sum(n for is_me, n in claims if not is_me)
    skipped = s.scalar(apply_filters(
        select(func.count(func.distinct(Skip.candidate_id))).join(Candidate, Candidate.id == Skip.candidate_id)
        .where(Skip.user_id == me.user_id, Skip.skipped_at > at - skip_seconds), pending)) or 0
    decided = s.scalar(select(func.count()).select_from(Decision)
                       .where(Decision.user_id == me.user_id, Decision.decided_at > at - 86400)) or 0
    return {"pending": total, "available": max(0, total - others - skipped), "claimed_by_me": mine,
            "claimed_by_others": others, "by_violation": by_violation, "decided_by_me_24h": decided}
