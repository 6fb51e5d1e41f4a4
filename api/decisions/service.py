"""Deciding a candidate: one final decision per candidate, idempotent retries, audited.

- The status change is a conditional UPDATE (pending → warned/case/rejected), so of two reviewers
  deciding at once exactly one wins; the other gets 409 with the decision that stands.
- A request with an Idempotency-Key is answered once and its answer stored; a retry with the same
  key and body gets the same answer, the same key with another body gets 422.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from contextlib import nullcontext

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import issue_from_decision
from streetwarden.config import Settings

from streetwarden.api.auth.service import Principal
from streetwarden.api.decisions.corrections import correction_of
from streetwarden.api.decisions.models import DecisionIn, DecisionKind, DecisionOut
from streetwarden.api.values import iso
from streetwarden.store.audit import record
from streetwarden.store.review import Decision, IdempotencyKey, Skip, finalize, held_claim, release_claim
from streetwarden.store.schema import Camera, Candidate, Evidence, ZoneRow, now
from streetwarden.store.users import User
from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")
IDEMPOTENCY_TTL = 24 * 3600
Fix = tuple[str | None, list[float] | None]  # a checked correction: (label, box in fractions of the frame)


class IdempotencyMismatch(Exception):
    """The key was used before for a different request."""


def _audited_correction(cand: Candidate, fix: Fix) -> dict:
    """before → after of a correction, for the audit entry (boxes as fractions of the frame, like the request)."""
    w, h = cand.frame_width or 1, cand.frame_height or 1
    box = [round(float(v) / d, 6) for v, d in zip(cand.box or [], (w, h, w, h))]
    label, fixed_box = fix
    return {"before": {"label": cand.label, "box": box},
            "after": {"label": label or cand.label, "box": fixed_box or box}}


def _out(d: Decision, status: str, hold: float = 0.0) -> dict:
    undo_until = iso(d.decided_at + hold) if hold > 0 else None
    return DecisionOut(candidate_id=d.candidate_id, decision=d.decision, reason=d.reason, note=d.note,
                       decided_by=d.username, decided_at=iso(d.decided_at), status=status,
                       undo_until=undo_until, correction=correction_of(d)).model_dump(mode="json")


def _decide(s: Session, me: Principal, candidate_id: int, body: DecisionIn, ip: str | None,
            settings: Settings | None = None, fix: Fix | None = None) -> tuple[int, dict]:
    at = time.time()
    cand = s.get(Candidate, candidate_id)
    if cand is None:
        return 404, {"detail": f"no candidate {candidate_id}", "code": "not_found"}
    claim = held_claim(s, candidate_id, at)
    if cand.status == "pending" and claim is not None and claim.user_id != me.user_id:
        holder = s.scalar(select(User.username).where(User.id == claim.user_id))
        return 409, {"detail": f"candidate {candidate_id} is claimed by {holder} until "
                               f"{iso(claim.expires_at).isoformat(timespec='seconds')}", "claimed_by": holder,
                     "code": "claimed_by_other"}
    kind = body.decision
    if kind == DecisionKind.skip:
        if cand.status != "pending":
            return _already(s, candidate_id, cand.status)
        s.add(Skip(candidate_id=candidate_id, user_id=me.user_id, note=body.note, skipped_at=at))
        release_claim(s, candidate_id)
        record(s, "candidate.skip", actor=me.username, actor_id=me.user_id, target_type="candidate",
               target_id=candidate_id, ip=ip, note=body.note)
        event(log, "candidate_skipped", candidate=candidate_id, user=me.username)
        return 200, DecisionOut(candidate_id=candidate_id, decision=kind, reason=None, note=body.note,
                                decided_by=me.username, decided_at=iso(at), status="pending").model_dump(mode="json")
    if not finalize(s, candidate_id, kind.value):
        return _already(s, candidate_id, cand.status)
    d = Decision(candidate_id=candidate_id, decision=kind.value, reason=body.reason.value if body.reason else None,
                 note=body.note, user_id=me.user_id, username=me.username, decided_at=at,
                 corrected_label=fix[0] if fix else None, corrected_box=fix[1] if fix else None)
    s.add(d)
    s.flush()
    release_claim(s, candidate_id)
    s.refresh(cand)
    issued = None
    hold = settings.server.undo_seconds if settings is not None else 0.0
    if settings is not None and kind.value in ("warn", "case"):
        # the notice or case (and its webhook outbox rows) commit in the same transaction as the decision; they
        # take effect when the undo window closes (outbox due then, pull API lists them from then on)
        issued = issue_from_decision(s, cand, kind.value, me, settings, note=body.note, at=at + hold)
    record(s, "candidate.decide", actor=me.username, actor_id=me.user_id, target_type="candidate",
           target_id=candidate_id, ip=ip, decision=d.decision, reason=d.reason, note=d.note, status=cand.status,
           issued=issued.ref if issued is not None else None,
           **({"correction": _audited_correction(cand, fix)} if fix else {}))
    event(log, "candidate_decided", candidate=candidate_id, decision=d.decision, reason=d.reason, user=me.username,
          corrected=fix is not None)
    return 200, _out(d, cand.status, hold)


def _already(s: Session, candidate_id: int, status: str) -> tuple[int, dict]:
    d = s.scalar(select(Decision).where(Decision.candidate_id == candidate_id))
    if d is None:
        return 409, {"detail": f"candidate {candidate_id} is no longer pending (status {status})", "code": "not_pending"}
    when = iso(d.decided_at).isoformat(timespec="seconds")
    return 409, {"detail": f"candidate {candidate_id} was already decided: {d.decision} by {d.username} at {when}",
                 "decision": _out(d, status), "code": "already_decided"}


def request_hash(candidate_id: int, body: DecisionIn) -> str:
    fields = body.model_dump(mode="json")
    if fields.get("correction") is None:
        fields.pop("correction", None)  # a request without one hashes as it did before corrections existed
    payload = json.dumps({"candidate": candidate_id, **fields}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _stored(s: Session, me: Principal, key: str, digest: str) -> tuple[int, dict] | None:
    row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == me.user_id, IdempotencyKey.key == key,
                                                IdempotencyKey.created_at > now() - IDEMPOTENCY_TTL))
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyMismatch(key)
    return row.status_code, row.response


def decide(db, me: Principal, candidate_id: int, body: DecisionIn, key: str | None,  # type: ignore[no-untyped-def]
           ip: str | None, lock=None, settings: Settings | None = None, fix: Fix | None = None) -> tuple[int, dict]:
    """(HTTP status, body) of a decision; replayed for a repeated Idempotency-Key."""
    digest = request_hash(candidate_id, body)
    if key:
        with db.session() as s:
            hit = _stored(s, me, key, digest)
        if hit:
            return hit
    try:
        with lock or nullcontext(), db.session() as s:
            status, payload = _decide(s, me, candidate_id, body, ip, settings, fix)
            if key:
                if status != 200:
                    s.rollback()  # nothing of a refused decision is kept but its answer
                s.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == me.user_id, IdempotencyKey.key == key,
                                                       IdempotencyKey.created_at <= now() - IDEMPOTENCY_TTL))
                s.add(IdempotencyKey(user_id=me.user_id, key=key, request_hash=digest, status_code=status,
                                     response=payload, created_at=now()))
                s.flush()
            return status, payload
    except IntegrityError:
        # a concurrent request with the same key won; answer as it did
        with db.session() as s:
            hit = _stored(s, me, key, digest) if key else None
        if hit:
            return hit
        with db.session() as s:
            return _already(s, candidate_id, "decided")


def purge_idempotency(s: Session) -> int:
    return s.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now() - IDEMPOTENCY_TTL)).rowcount


def _issued(s: Session, ids: list[int]) -> dict[int, dict[str, str | None]]:
    """Ref and status of the latest notice and case per candidate: two indexed queries per page, so the
    history shows what each warn / case decision became without a request per row."""
    out: dict[int, dict[str, str | None]] = {
        cid: {"notice_ref": None, "notice_status": None, "case_ref": None, "case_status": None} for cid in ids}
    if not ids:
        return out
    for prefix, model in (("notice", Notice), ("case", Case)):
        for cid, ref, status in s.execute(select(model.candidate_id, model.ref, model.status)
                                          .where(model.candidate_id.in_(ids), model.ref.is_not(None))
                                          .order_by(model.id)).all():
            out[cid][f"{prefix}_ref"], out[cid][f"{prefix}_status"] = ref, status  # the newest wins
    return out


def _names(s: Session, places: set[tuple[str, str]]) -> dict:
    """Display names of the cameras (by id) and zones (by (camera, zone)) of one page: two small queries."""
    if not places:
        return {}
    cams = {c for c, _ in places}
    out: dict = dict(s.execute(select(Camera.id, Camera.name).where(Camera.id.in_(cams))).all())
    for cam, zone, name in s.execute(select(ZoneRow.camera_id, ZoneRow.zone_id, ZoneRow.name)
                                     .where(ZoneRow.camera_id.in_(cams))).all():
        out[(cam, zone)] = name
    return out


def history(s: Session, q: str | None, decision: str | None, reason: str | None, user: str | None,
            camera_id: str | None, violation: str | None, since: float | None, until: float | None,
            before: int | None, limit: int) -> tuple[list[dict], int | None]:
    stmt = select(Decision, Candidate).join(Candidate, Candidate.id == Decision.candidate_id)
    if decision:
        stmt = stmt.where(Decision.decision == decision)
    if reason:
        stmt = stmt.where(Decision.reason == reason)
    if user:
        stmt = stmt.where(Decision.username == user)
    if camera_id:
        stmt = stmt.where(Candidate.camera_id == camera_id)
    if violation:
        stmt = stmt.where(Candidate.violation == violation)
    if since is not None:
        stmt = stmt.where(Decision.decided_at >= since)
    if until is not None:
        stmt = stmt.where(Decision.decided_at <= until)
    if q:
        like = f"%{q.lower().replace('%', '').replace('_', '')}%"
        conds = [func.lower(Decision.note).like(like), func.lower(Decision.username).like(like),
                 func.lower(Candidate.camera_id).like(like), func.lower(Candidate.zone_id).like(like),
                 func.lower(Candidate.label).like(like)]
        if q.strip().lstrip("#").isdigit() and len(q.strip().lstrip("#")) < 18:
            conds.append(Candidate.id == int(q.strip().lstrip("#")))
        stmt = stmt.where(or_(*conds))
    if before is not None:
        stmt = stmt.where(Decision.id < before)
    rows = s.execute(stmt.order_by(Decision.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [c.id for _, c in rows]
    thumbs: dict[int, int] = {}
    if ids:
        for cid, kind, eid in s.execute(select(Evidence.candidate_id, Evidence.kind, Evidence.id)
                                        .where(Evidence.candidate_id.in_(ids), Evidence.kind.in_(("crop", "frame")))
                                        .order_by(Evidence.id)).all():
            if kind == "crop" or cid not in thumbs:
                thumbs[cid] = eid
    issued = _issued(s, ids)
    names = _names(s, {(c.camera_id, c.zone_id) for _, c in rows})
    items = [{
        "id": d.id, "candidate_id": c.id, "decision": d.decision, "reason": d.reason, "note": d.note,
        "decided_by": d.username, "decided_at": iso(d.decided_at), "camera_id": c.camera_id, "zone_id": c.zone_id,
        "camera_name": names.get(c.camera_id), "zone_name": names.get((c.camera_id, c.zone_id)),
        "violation": c.violation, "label": c.label, "score": round(c.score, 4), "status": c.status,
        "thumbnail_url": f"/api/v1/evidence/{thumbs[c.id]}" if c.id in thumbs else None,
        **issued[c.id],
    } for d, c in rows]
    return items, (rows[-1][0].id if more and rows else None)
