"""Notices and cases: issuing them from a reviewer's decision, closing or escalating a notice after its
re-check, and the case status driven by the case-management system.

Every change writes its webhook event to the outbox in the caller's transaction, so the change and
its announcement commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.store.audit import record as audit_record

from streetwarden.store.errors import Conflict, Invalid, NotFound
from streetwarden.store.notice_schema import CASE_STATUSES, Case, CaseHistory, Notice
from streetwarden.store.outbox import enqueue
from streetwarden.store.schema import Camera, Candidate, Evidence, now
from streetwarden.store.shops import shop_for_zone
from streetwarden.store.timefmt import iso, seen_time
from streetwarden.config import Settings
from streetwarden.vocabulary import DEFAULT_VIOLATION_CODES

DECISIONS = ("warn", "case")
# open -> accepted -> closed; rejected from open or accepted; closed and rejected are final.
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {"open": ("accepted", "closed", "rejected"), "accepted": ("closed", "rejected"),
                                                "closed": (), "rejected": ()}
SUPERVISOR_ACTIONS = ("escalate", "cancel")


def actor_name(user: object) -> str:
    """A user object of the API (username / name attribute) or a plain string."""
    for attr in ("username", "name", "login"):
        value = getattr(user, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(user)


def _place(s: Session, candidate: Candidate) -> dict[str, Any]:
    cam = s.get(Camera, candidate.camera_id)
    shop = shop_for_zone(s, candidate.camera_id, candidate.zone_id)
    plate = (candidate.attributes or {}).get("plate") or {}
    if plate.get("uncertain"):
        plate = {}  # a doubtful reading waits for the reviewer: a wrong plate on a notice is worse than none
    return dict(
        camera_id=candidate.camera_id, zone_id=candidate.zone_id, violation=candidate.violation, label=candidate.label,
        box=list(candidate.box), frame_width=candidate.frame_width, frame_height=candidate.frame_height,
        address=cam.address if cam else None, latitude=cam.latitude if cam else None,
        longitude=cam.longitude if cam else None, first_seen=candidate.first_seen, last_seen=candidate.last_seen,
        live=candidate.live, shop_id=shop.id if shop else None, plate_text=plate.get("text"),
        plate_confidence=plate.get("confidence"),
    )


def stamp_violation_code(candidate: Candidate, settings: Settings) -> None:
    """Keep, on the candidate, the classification its first notice or case is issued under, so a later
    change of `violation_codes` never rewrites what the case system was already told."""
    attrs = candidate.attributes or {}
    if "violation_code" not in attrs:
        candidate.attributes = {**attrs, "violation_code": settings.violation_code(candidate.violation)._asdict()}


def violation_code_of(candidate: Candidate, violation: str) -> dict[str, str] | None:
    """The stamped classification; the standard's default for records issued before codes were stamped."""
    stamped = (candidate.attributes or {}).get("violation_code") if candidate is not None else None
    if stamped:
        return dict(stamped)
    default = DEFAULT_VIOLATION_CODES.get(violation)
    return default._asdict() if default else None


def notice_for_candidate(s: Session, candidate_id: int) -> Notice | None:
    return s.scalar(select(Notice).where(Notice.candidate_id == candidate_id).order_by(Notice.id.desc()).limit(1))


def case_for_candidate(s: Session, candidate_id: int) -> Case | None:
    return s.scalar(select(Case).where(Case.candidate_id == candidate_id).order_by(Case.id.desc()).limit(1))


def issue_from_decision(s: Session, candidate: Candidate, decision: object, user: object, settings: Settings, *,
                        note: str | None = None, at: float | None = None) -> Notice | Case:
    """A reviewer decided `warn` (-> notice) or `case` (-> case) on a candidate.

    Safe to call twice (a double click, a retried request): an existing notice or case of the
    candidate is returned instead of a second one; `case` on a candidate with an open notice
    escalates that notice.
    """
    kind = str(getattr(decision, "value", decision)).lower()
    if kind not in DECISIONS:
        raise Invalid(f"decision: '{kind}' does not issue a notice or case (expected one of {', '.join(DECISIONS)})")
    at = now() if at is None else at
    who = actor_name(user)
    stamp_violation_code(candidate, settings)
    existing_case = case_for_candidate(s, candidate.id)
    if existing_case is not None:
        return existing_case
    existing = notice_for_candidate(s, candidate.id)
    if kind == "warn":
        if existing is not None:
            return existing
        grace = settings.notices.grace_for(candidate.violation)
        notice = Notice(candidate_id=candidate.id, status="open", issued_by=who, issued_at=at, grace_seconds=grace,
                        deadline=at + grace, next_check_at=at + grace, recheck_attempts=0, note=note,
                        created_at=at, updated_at=at, **_place(s, candidate))
        s.add(notice)
        s.flush()
        notice.ref = f"SW-N-{notice.id:06d}"
        s.flush()
        enqueue(s, settings.webhooks, "notice.created", notice.ref, notice_json(s, notice), at)
        return notice
    if existing is not None and existing.status in ("open", "awaiting_supervisor"):
        return escalate_notice(s, existing, settings, who, origin="decision", note=note, at=at)
    case = _new_case(s, candidate, None, "decision", who, note, at, _place(s, candidate))
    enqueue(s, settings.webhooks, "case.created", case.ref or "", case_json(s, case), at)
    return case


def _new_case(s: Session, candidate: Candidate, notice: Notice | None, origin: str, who: str, note: str | None,
              at: float, place: dict[str, Any]) -> Case:
    case = Case(candidate_id=candidate.id, notice_id=notice.id if notice else None, origin=origin, status="open",
                created_by=who, note=note, created_at=at, updated_at=at, **place)
    s.add(case)
    s.flush()
    case.ref = f"SW-C-{case.id:06d}"
    source = {"escalation": "system", "supervisor": "supervisor"}.get(origin, "reviewer")  # who opened it, for the history
    case.history.append(CaseHistory(from_status=None, to_status="open", actor=who, source=source, note=note, at=at))
    s.flush()
    return case


def _notice_place(n: Notice) -> dict[str, Any]:
    keys = ("camera_id", "zone_id", "violation", "label", "box", "frame_width", "frame_height", "address", "latitude",
            "longitude", "first_seen", "last_seen", "live", "shop_id", "plate_text", "plate_confidence")
    return {k: getattr(n, k) for k in keys}


def escalate_notice(s: Session, notice: Notice, settings: Settings, who: str, *, origin: str = "escalation",
                    note: str | None = None, at: float | None = None) -> Case:
    """The offence persisted (or a reviewer or supervisor chose a case): close the notice, open a case."""
    at = now() if at is None else at
    if notice.status not in ("open", "awaiting_supervisor"):
        raise Conflict(f"notice {notice.ref} is already {notice.status}")
    notice.status, notice.close_reason, notice.closed_at, notice.updated_at = "escalated", "escalated", at, at
    case = _new_case(s, notice.candidate, notice, origin, who, note, at, _notice_place(notice))
    enqueue(s, settings.webhooks, "notice.closed", notice.ref or "", notice_json(s, notice), at)
    enqueue(s, settings.webhooks, "case.created", case.ref or "", case_json(s, case), at)
    return case


def close_complied(s: Session, notice: Notice, settings: Settings, evidence_id: int | None, note: str,
                   at: float | None = None) -> Notice:
    """The re-check found the place clear: the notice closes as complied with, the re-check frame as evidence."""
    at = now() if at is None else at
    notice.status, notice.close_reason, notice.closed_at = "complied", "complied", at
    notice.recheck_evidence_id, notice.recheck_note, notice.checked_at, notice.updated_at = evidence_id, note, at, at
    notice.recheck_attempts += 1
    enqueue(s, settings.webhooks, "notice.closed", notice.ref or "", notice_json(s, notice), at)
    return notice


def persisted(s: Session, notice: Notice, settings: Settings, evidence_id: int | None, note: str,
              at: float | None = None) -> Notice | Case:
    """Still there at the re-check: a case, or the supervisor's queue, as configured."""
    at = now() if at is None else at
    notice.recheck_evidence_id, notice.recheck_note, notice.checked_at = evidence_id, note, at
    notice.recheck_attempts += 1
    if settings.notices.on_persist == "case":
        return escalate_notice(s, notice, settings, "recheck", origin="escalation", note=note, at=at)
    notice.status, notice.updated_at = "awaiting_supervisor", at
    return notice


def postpone(s: Session, notice: Notice, reason: str, until: float, at: float | None = None) -> Notice:
    """The camera could not show the place: try again later, and say why. Never closes the notice."""
    at = now() if at is None else at
    notice.recheck_note, notice.next_check_at, notice.updated_at = reason, until, at
    notice.recheck_attempts += 1
    return notice


def supervisor_decide(s: Session, ref: str, action: str, user: object, settings: Settings, *,
                      note: str | None = None, at: float | None = None) -> Notice | Case:
    """A supervisor settles a notice that persisted: `escalate` opens a case, `cancel` closes it without one."""
    if action not in SUPERVISOR_ACTIONS:
        raise Invalid(f"action: '{action}' is not one of {', '.join(SUPERVISOR_ACTIONS)}")
    notice = get_notice(s, ref)
    if notice.status != "awaiting_supervisor":
        raise Conflict(f"notice {ref} is {notice.status}, not awaiting a supervisor")
    at = now() if at is None else at
    if action == "escalate":
        return escalate_notice(s, notice, settings, actor_name(user), origin="supervisor", note=note, at=at)
    notice.status, notice.close_reason, notice.closed_at, notice.updated_at = "cancelled", "cancelled", at, at
    notice.note = note or notice.note
    enqueue(s, settings.webhooks, "notice.closed", notice.ref or "", notice_json(s, notice), at)
    return notice


def withdraw_notice(s: Session, ref: str, user: object, settings: Settings, reason: str,
                    at: float | None = None) -> Notice:
    """A supervisor takes back a notice issued in error (after the reviewer's undo window): it closes as
    `withdrawn` with the reason, the audit log records it and the case system gets `notice.withdrawn`."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: say why the notice is withdrawn (it is sent to the case system)")
    notice = get_notice(s, ref)
    at = now() if at is None else at
    if notice.updated_at > at:
        raise Conflict(f"notice {ref} is still in its reviewer's undo window; the reviewer can undo the decision")
    if notice.status not in ("open", "awaiting_supervisor"):
        raise Conflict(f"notice {ref} is already {notice.status}; only an open notice can be withdrawn")
    notice.status, notice.close_reason, notice.closed_at, notice.updated_at = "withdrawn", "withdrawn", at, at
    notice.note = reason
    s.flush()
    who = actor_name(user)
    audit_record(s, "notice.withdraw", actor=who, target_type="notice", target_id=ref, reason=reason)
    enqueue(s, settings.webhooks, "notice.withdrawn", ref, notice_json(s, notice), at)
    return notice


def change_case_status(s: Session, ref: str, status: str, settings: Settings, *, actor: str, source: str = "integration",
                       result: str | None = None, note: str | None = None, external_id: str | None = None,
                       at: float | None = None) -> tuple[Case, bool]:
    """Apply a status change from the case system; returns (case, changed).

    Repeating the change that was last applied (a retried request) changes nothing; a change that
    does not follow open -> accepted -> closed / rejected is a Conflict.
    """
    if status not in CASE_STATUSES:
        raise Invalid(f"status: '{status}' is not one of {', '.join(CASE_STATUSES)}")
    case = get_case(s, ref)
    if status == case.status and (result is None or result == case.result):
        return case, False
    if status not in CASE_TRANSITIONS[case.status]:
        allowed = ", ".join(CASE_TRANSITIONS[case.status]) or "none: it is final"
        raise Conflict(f"case {ref} is {case.status}; it cannot become {status} (allowed: {allowed})")
    if status == "closed" and not (result or "").strip():
        raise Invalid("result: a case is closed with a result (e.g. 'fined 200 CNY')")
    at = now() if at is None else at
    case.history.append(CaseHistory(from_status=case.status, to_status=status, result=result, actor=actor,
                                    source=source, note=note, at=at))
    case.status, case.updated_at = status, at
    if result is not None:
        case.result = result
    if external_id:
        case.external_id = external_id
    s.flush()
    # the shared append-only audit log sees it too, beside the case's own history
    audit_record(s, "case.status", actor=actor, target_type="case", target_id=case.ref, source=source,
                 to_status=status, result=result, note=note)
    enqueue(s, settings.webhooks, "case.updated", case.ref or "", case_json(s, case), at)
    return case, True


def get_notice(s: Session, ref: str) -> Notice:
    row = s.scalar(select(Notice).where(Notice.ref == ref))
    if row is None:
        raise NotFound(f"notice {ref} does not exist")
    return row


def get_case(s: Session, ref: str) -> Case:
    row = s.scalar(select(Case).where(Case.ref == ref))
    if row is None:
        raise NotFound(f"case {ref} does not exist")
    return row


def due_notices(s: Session, at: float, limit: int = 50, camera_ids: list[str] | None = None) -> list[Notice]:
    """Open notices whose (next) re-check is due, of the given cameras (a worker runs only some)."""
    q = select(Notice).where(Notice.status == "open", Notice.next_check_at <= at)
    if camera_ids is not None:
        q = q.where(Notice.camera_id.in_(camera_ids))
    return list(s.scalars(q.order_by(Notice.next_check_at, Notice.id).limit(limit)).all())


# ------------------------------------------------------------------ JSON as the outside sees it
def _evidence(s: Session, candidate_id: int) -> list[dict[str, Any]]:
    rows = s.scalars(select(Evidence).where(Evidence.candidate_id == candidate_id).order_by(Evidence.id)).all()
    return [{"id": e.id, "kind": e.kind, "sha256": e.sha256, "media_type": e.media_type, "width": e.width,
             "height": e.height, "note": e.note} for e in rows]


def _common(row: Notice | Case) -> dict[str, Any]:
    return {
        "violation": row.violation, "violation_code": violation_code_of(row.candidate, row.violation),
        "label": row.label, "place": {"camera_id": row.camera_id, "zone_id": row.zone_id, "address": row.address,
                  "latitude": row.latitude, "longitude": row.longitude},
        "box": row.box, "frame_size": [row.frame_width, row.frame_height],
        "seen": {"first": seen_time(row.first_seen, row.live), "last": seen_time(row.last_seen, row.live),
                 "clock": "utc" if row.live else "seconds_into_recording"},
        "shop_id": row.shop_id,
        "plate": {"text": row.plate_text, "confidence": row.plate_confidence} if row.plate_text else None,
        "candidate_id": row.candidate_id,
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
    }


def notice_json(s: Session, n: Notice) -> dict[str, Any]:
    case = s.scalar(select(Case).where(Case.notice_id == n.id).limit(1)) if n.id else None
    return {
        "ref": n.ref, "kind": "notice", "status": n.status, **_common(n),
        "issued_by": n.issued_by, "issued_at": iso(n.issued_at), "grace_seconds": n.grace_seconds,
        "deadline": iso(n.deadline),
        "recheck": {"attempts": n.recheck_attempts, "checked_at": iso(n.checked_at), "note": n.recheck_note,
                    "next_check_at": iso(n.next_check_at) if n.status == "open" else None,
                    "evidence_id": n.recheck_evidence_id},
        "closed_at": iso(n.closed_at), "close_reason": n.close_reason, "case_ref": case.ref if case else None,
        "note": n.note, "evidence": _evidence(s, n.candidate_id),
        "bundle_url": f"/api/v1/notices/{n.ref}/bundle",
    }


def case_json(s: Session, c: Case) -> dict[str, Any]:
    return {
        "ref": c.ref, "kind": "case", "status": c.status, **_common(c),
        "origin": c.origin, "notice_ref": c.notice.ref if c.notice else None, "result": c.result,
        "external_id": c.external_id, "created_by": c.created_by, "note": c.note,
        "history": [{"from": h.from_status, "to": h.to_status, "result": h.result, "actor": h.actor, "source": h.source,
                     "note": h.note, "at": iso(h.at)} for h in c.history],
        "evidence": _evidence(s, c.candidate_id),
        "bundle_url": f"/api/v1/cases/{c.ref}/bundle",
    }
