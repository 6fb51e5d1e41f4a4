"""Queue rules: which candidates a reviewer sees, leases on them, counts.

A claim hands a reviewer their working set: their live claims (renewed) plus the oldest free
pending candidates, each taken with one conditional statement (store.review.try_claim), so two
reviewers claiming at the same moment never get the same candidate. An abandoned claim simply
expires and the candidate is free again.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from collections.abc import Sequence

from sqlalchemy import Text, and_, bindparam, delete, exists, func, select, type_coerce, update
from sqlalchemy.orm import Session

from streetwarden.api.auth.service import Principal
from streetwarden.api.candidates.models import ListFilters
from streetwarden.api.decisions.corrections import correction_of
from streetwarden.api.values import iso
from streetwarden.detectors.object_classes import class_choices
from streetwarden.store.audit import record
from streetwarden.store.review import Claim, Decision, Skip, held_claim, release_claim, try_claim
from streetwarden.store.schema import Camera, Candidate, Evidence, ZoneRow
from streetwarden.store.users import User
from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")


C = Candidate.__table__.c  # plain table columns: Core statements skip the ORM's per-statement work


def apply_filters(q, f: ListFilters):  # type: ignore[no-untyped-def]
    if f.status is not None:
        q = q.where(C.status == f.status.value)
    if f.violation is not None:
        q = q.where(C.violation == f.violation.value)
    if f.camera_id:
        q = q.where(C.camera_id == f.camera_id)
    if f.since is not None:
        q = q.where(C.last_seen >= f.since)
    if f.until is not None:
        q = q.where(C.first_seen <= f.until)
    return q


class _NameCache:
    """Camera and zone names change rarely; keep them a couple of seconds instead of querying per request."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._at = 0.0
        self._value: tuple[dict[str, tuple[str | None, str | None]], dict[tuple[str, str], str | None]] = ({}, {})

    def get(self, s: Session):  # type: ignore[no-untyped-def]
        if time.monotonic() - self._at > self.ttl:
            cams = {cid: (name, addr) for cid, name, addr in s.execute(select(Camera.id, Camera.name, Camera.address)).all()}
            zones = {(c, z): n for c, z, n in s.execute(select(ZoneRow.camera_id, ZoneRow.zone_id, ZoneRow.name)).all()}
            self._value, self._at = (cams, zones), time.monotonic()
        return self._value

    def clear(self) -> None:
        self._at = 0.0


names = _NameCache()
# JSON columns come back as text and are parsed here: the dialect's JSON result processing costs more
_COLS = [C.id, C.camera_id, C.zone_id, C.violation, C.label, C.score, C.status, type_coerce(C.box, Text).label("box"),
         C.frame_width, C.frame_height, C.live, C.first_seen, C.last_seen, C.active, C.created_at,
         type_coerce(C.attributes, Text).label("attributes")]
_E, _K, _U, _D, _S = (Evidence.__table__.c, Claim.__table__.c, User.__table__.c, Decision.__table__.c,
                      Skip.__table__.c)
_IDS = bindparam("ids", expanding=True)
_ROWS_Q = select(*_COLS).where(C.id.in_(_IDS))
_EVIDENCE_Q = (select(_E.candidate_id, _E.id, _E.kind, _E.sha256, _E.width, _E.height, _E.ts, _E.note)
               .where(_E.candidate_id.in_(_IDS)).order_by(_E.id))
_CLAIMS_Q = (select(_K.candidate_id, _K.user_id, _U.username, _K.expires_at).join_from(Claim.__table__, User.__table__)
             .where(_K.candidate_id.in_(_IDS), _K.expires_at > bindparam("at")))
_DECISIONS_Q = (select(_D.candidate_id, _D.decision, _D.reason, _D.note, _D.username, _D.decided_at,
                       _D.corrected_label, _D.corrected_box)
                .where(_D.candidate_id.in_(_IDS)))


def candidate_payloads(s: Session, ids: Sequence[int], me: Principal, at: float | None = None,
                       rows: dict | None = None) -> list[dict]:
    """Candidates as API dicts (the CandidateOut shape), in the order of `ids`, in a fixed number of queries.

    Built from plain rows rather than ORM objects and serialised once: the queue routes are the hot path."""
    if not ids:
        return []
    at = time.time() if at is None else at
    ids = list(ids)
    conn = s.connection()
    if rows is None:
        rows = {r.id: r for r in conn.execute(_ROWS_Q, {"ids": ids}).all()}
    evidence: dict[int, list[dict]] = {}
    for cid, eid, kind, sha, w, h, ts, note in conn.execute(_EVIDENCE_Q, {"ids": ids}).all():
        evidence.setdefault(cid, []).append({"id": eid, "kind": kind, "url": f"/api/v1/evidence/{eid}", "sha256": sha,
                                             "width": w, "height": h, "ts": ts, "note": note})
    claims = {cid: (uid, name, exp) for cid, uid, name, exp in conn.execute(_CLAIMS_Q, {"ids": ids, "at": at}).all()}
    decided = [i for i, r in rows.items() if r.status != "pending"]
    decisions = {d.candidate_id: d for d in conn.execute(_DECISIONS_Q, {"ids": decided}).all()} if decided else {}
    cameras, zones = names.get(s)
    out = []
    for cid in ids:
        r = rows.get(cid)
        if r is None:
            continue
        cam_name, address = cameras.get(r.camera_id, (None, None))
        c = claims.get(cid)
        d = decisions.get(cid)
        out.append({
            "id": r.id, "camera_id": r.camera_id, "camera_name": cam_name, "address": address, "zone_id": r.zone_id,
            "zone_name": zones.get((r.camera_id, r.zone_id)), "violation": r.violation, "label": r.label,
            "score": round(r.score, 4), "status": r.status, "box": [float(v) for v in _json(r.box) or []],
            "frame_width": r.frame_width, "frame_height": r.frame_height, "live": r.live,
            "first_seen": r.first_seen, "last_seen": r.last_seen,
            "first_seen_at": iso(r.first_seen) if r.live else None, "last_seen_at": iso(r.last_seen) if r.live else None,
            "active": r.active, "created_at": iso(r.created_at), "attributes": _json(r.attributes) or {},
            "evidence": evidence.get(cid, []),
            "claim": {"user": c[1], "expires_at": c[2], "mine": c[0] == me.user_id} if c else None,
            "decision": {"decision": d.decision, "reason": d.reason, "note": d.note, "decided_by": d.username,
                         "decided_at": iso(d.decided_at), "correction": correction_of(d)} if d else None,
            "class_choices": class_choices(r.violation, r.label),
        })
    return out


def _json(value):  # type: ignore[no-untyped-def]
    """JSON column read as text (SQLite); PostgreSQL's driver already hands back the decoded value."""
    return json.loads(value) if isinstance(value, (str, bytes)) and value else (value or None)


_LIST_QUERIES: dict[tuple, object] = {}


def _list_query(f: ListFilters, paged: bool, newest_first: bool):  # type: ignore[no-untyped-def]
    """One prepared statement per combination of filters (bound values, not literals), built once:
    SQLAlchemy then reuses its compiled form without re-adapting it to a new statement object."""
    key = (f.status is not None, f.violation is not None, bool(f.camera_id), f.since is not None,
           f.until is not None, paged, newest_first)
    q = _LIST_QUERIES.get(key)
    if q is None:
        q = select(*_COLS)
        conds = [(key[0], C.status == bindparam("status")), (key[1], C.violation == bindparam("violation")),
                 (key[2], C.camera_id == bindparam("camera_id")), (key[3], C.last_seen >= bindparam("since")),
                 (key[4], C.first_seen <= bindparam("until")),
                 (paged, (C.id < bindparam("after")) if newest_first else (C.id > bindparam("after")))]
        for present, cond in conds:
            if present:
                q = q.where(cond)
        q = q.order_by(C.id.desc() if newest_first else C.id.asc()).limit(bindparam("limit"))
        _LIST_QUERIES[key] = q
    return q


def list_candidates(s: Session, f: ListFilters, after: int | None, limit: int, newest_first: bool) -> tuple[list, int | None]:
    """Keyset pagination on id: (rows of this page, last id if there is a next page)."""
    q = _list_query(f, after is not None, newest_first)
    params = {"status": f.status.value if f.status else None, "violation": f.violation.value if f.violation else None,
              "camera_id": f.camera_id, "since": f.since, "until": f.until, "after": after, "limit": limit + 1}
    rows = list(s.connection().execute(q, params).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def _free(at: float, user_id: int, skip_since: float):  # type: ignore[no-untyped-def]
    """SQL conditions: no live claim of someone else, not recently skipped by this reviewer."""
    live_claim = exists().where(_K.candidate_id == C.id, _K.expires_at > at)
    skipped = exists().where(_S.candidate_id == C.id, _S.user_id == user_id, _S.skipped_at > skip_since)
    return and_(~live_claim, ~skipped)


def claim(db, me: Principal, count: int, f: ListFilters, lease: float, skip_seconds: float,  # type: ignore[no-untyped-def]
          ip: str | None = None, lock=None) -> tuple[list[dict], float]:
    """The caller's working set for these filters, at most `count` candidates, oldest first.

    The reads (which claims are mine, which candidates look free) happen before the write lock; under
    it, one short transaction lets go of claims outside the set, renews the ones kept, and takes the
    free candidates one conditional statement each (one someone else took meanwhile is passed over
    and the next looked up)."""
    at = time.time()
    expires = at + lease
    pending = ListFilters(status="pending", violation=f.violation, camera_id=f.camera_id)
    free_q = apply_filters(select(C.id), pending).where(_free(at, me.user_id, at - skip_seconds)).order_by(C.id)
    with db.session() as s:
        mine = select(_K.candidate_id).where(_K.user_id == me.user_id, _K.expires_at > at)
        held_q = apply_filters(select(C.id).where(C.id.in_(mine)), pending)  # driven by the few claims
        keep = list(s.scalars(held_q.order_by(C.id).limit(count)).all())
        need = count - len(keep)
        candidates = list(s.scalars(free_q.limit(need + 4)).all()) if need > 0 else []
    got: list[int] = []
    with lock or nullcontext(), db.session() as s:
        ct = Claim.__table__
        s.execute(delete(ct).where(ct.c.user_id == me.user_id, ct.c.candidate_id.not_in(keep)))
        if keep:
            s.execute(update(ct).where(ct.c.user_id == me.user_id, ct.c.candidate_id.in_(keep)).values(expires_at=expires))
        for _round in range(4):
            for cid in candidates:
                if len(got) >= need:
                    break
                if cid not in keep and try_claim(s, cid, me.user_id, at, expires):
                    got.append(cid)
                    record(s, "candidate.claim", actor=me.username, actor_id=me.user_id, target_type="candidate",
                           target_id=cid, ip=ip, expires_at=round(expires, 3))
            if len(got) >= need or not candidates:
                break
            # others were quicker for some: look again, now under the lock
            q = free_q.where(C.id.not_in(got + keep)) if got or keep else free_q
            candidates = list(s.scalars(q.limit(need - len(got) + 4)).all())
    with db.session() as s:  # the write lock is already handed on
        items = candidate_payloads(s, sorted(keep + got), me, at)
    if got:
        event(log, "candidates_claimed", user=me.username, candidates=got)
    return [i for i in items if i["status"] == "pending"], expires


class NotYourClaim(Exception):
    """A reviewer tried to release a live claim another reviewer holds."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def release(s: Session, me: Principal, candidate_id: int, force: bool, ip: str | None) -> bool:
    """Drop the caller's claim (any claim with `force`); NotYourClaim when someone else holds it."""
    held = None if force else held_claim(s, candidate_id, time.time())
    if held is not None and held.user_id != me.user_id:
        raise NotYourClaim(s.scalar(select(User.username).where(User.id == held.user_id)) or "another reviewer")
    n = release_claim(s, candidate_id, None if force else me.user_id)
    if n:
        record(s, "candidate.release", actor=me.username, actor_id=me.user_id, target_type="candidate",
               target_id=candidate_id, ip=ip)
    return bool(n)


def release_all(s: Session, me: Principal, ip: str | None) -> int:
    ids = s.scalars(select(_K.candidate_id).where(_K.user_id == me.user_id)).all()
    for cid in ids:
        release_claim(s, cid, me.user_id)
    if ids:
        record(s, "candidate.release_all", actor=me.username, actor_id=me.user_id, ip=ip, candidates=list(ids))
    return len(ids)


class _CountCache:
    """Pending counts per filter and data version: counting 100,000 rows on every refresh of the queue
    page is wasteful when nothing was decided or raised since."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._items: dict[tuple, tuple[float, dict[str, int]]] = {}

    def get(self, key: tuple) -> dict[str, int] | None:
        hit = self._items.get(key)
        return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def put(self, key: tuple, value: dict[str, int]) -> None:
        if len(self._items) > 1000:
            self._items.clear()
        self._items[key] = (time.monotonic(), value)

    @staticmethod
    def version(s: Session) -> tuple:
        """Pending counts change only when a candidate arrives or is decided: two index look-ups tell,
        also for decisions made by another worker process."""
        return (s.scalar(select(func.max(_D.id))), s.scalar(select(func.max(C.id))))

    def clear(self) -> None:
        self._items.clear()


pending_counts = _CountCache()


def stats(s: Session, me: Principal, f: ListFilters, skip_seconds: float) -> dict:
    at = time.time()
    pending = ListFilters(status="pending", violation=f.violation, camera_id=f.camera_id)
    key = (pending.violation, pending.camera_id, *pending_counts.version(s))
    by_violation = pending_counts.get(key)
    if by_violation is None:
        by_violation = dict(s.execute(apply_filters(select(C.violation, func.count()), pending)
                                      .group_by(C.violation)).all())
        pending_counts.put(key, by_violation)
    total = sum(by_violation.values())

    def still_pending(col):  # type: ignore[no-untyped-def]
        return apply_filters(select(C.id).where(C.id == col), pending).exists()

    # driven by the small claims/skips tables, each row checked against its candidate by primary key
    claims = s.execute(select(_K.user_id == me.user_id, func.count())
                       .where(_K.expires_at > at, still_pending(_K.candidate_id))
                       .group_by(_K.user_id == me.user_id)).all()
    mine = sum(n for is_me, n in claims if is_me)
    others = sum(n for is_me, n in claims if not is_me)
    skipped = s.scalar(select(func.count(func.distinct(_S.candidate_id)))
                       .where(_S.user_id == me.user_id, _S.skipped_at > at - skip_seconds,
                              still_pending(_S.candidate_id))) or 0
    decided = s.scalar(select(func.count()).select_from(Decision.__table__)
                       .where(_D.user_id == me.user_id, _D.decided_at > at - 86400)) or 0
    return {"pending": total, "available": max(0, total - others - skipped), "claimed_by_me": mine,
            "claimed_by_others": others, "by_violation": by_violation, "decided_by_me_24h": decided}
