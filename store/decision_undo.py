"""Taking a decision back within its undo window.

A warn / case decision issues its notice or case at once, but dated to the end of the window: its
webhook rows are not due before then and the pull API lists no row whose `updated_at` is still in
the future. So within the window nothing has left the building, and undoing can simply drop the
held rows and put the candidate back in the reviewer's hands. After the window the notice is real:
only a supervisor can withdraw it (store/notices.py `withdraw_notice`), and the case system is told.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from streetwarden.store.errors import Conflict, NotFound
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.review import Decision, try_claim
from streetwarden.store.schema import Candidate
from streetwarden.store.timefmt import iso


class NotYours(Exception):
    """Someone else made the decision; only its reviewer may take it back."""


@dataclass
class Undone:
    candidate_id: int
    decision: str
    withdrawn: list[str]


def undo_decision(s: Session, candidate_id: int, user_id: int, at: float, window: float,
                  claim_until: float) -> Undone:
    """Drop the decision (and its held notice / case / webhooks) and claim the candidate for the reviewer again."""
    cand = s.get(Candidate, candidate_id)
    if cand is None:
        raise NotFound(f"no candidate {candidate_id}")
    d = s.scalar(select(Decision).where(Decision.candidate_id == candidate_id))
    if d is None:
        raise Conflict(f"candidate {candidate_id} has no decision to undo (status {cand.status})")
    if d.user_id != user_id:
        raise NotYours(f"candidate {candidate_id} was decided by {d.username}; only they can undo it")
    if window <= 0 or at >= d.decided_at + window:
        raise Conflict(f"the undo window of candidate {candidate_id} closed at "
                       f"{iso(d.decided_at + window)}; a supervisor can withdraw the notice it issued")
    notices = list(s.scalars(select(Notice).where(Notice.candidate_id == candidate_id)).all())
    cases = list(s.scalars(select(Case).where(Case.candidate_id == candidate_id)).all())
    refs = [r.ref for r in (*cases, *notices) if r.ref]
    if refs:
        sent = s.scalar(select(OutboxMessage.id).where(OutboxMessage.aggregate_ref.in_(refs),
                                                       OutboxMessage.status != "pending").limit(1))
        if sent is not None:  # cannot happen while the rows are held; refuse rather than un-send
            raise Conflict(f"candidate {candidate_id}: its notice or case was already delivered")
        s.execute(delete(OutboxMessage).where(OutboxMessage.aggregate_ref.in_(refs)))
    for case in cases:
        s.delete(case)  # its status history goes with it (cascade)
    s.flush()
    for notice in notices:
        s.delete(notice)
    s.delete(d)
    cand.status = "pending"
    s.flush()
    try_claim(s, candidate_id, user_id, at, claim_until)
    return Undone(candidate_id, d.decision, refs)
