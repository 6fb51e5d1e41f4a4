"""Bodies of the decision routes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streetwarden.api.errors import ErrorOut
from streetwarden.api.values import Note


class DecisionKind(str, Enum):
    """warn: confirmed, a warning notice is to be issued; case: confirmed, an enforcement case is to be
    opened; reject: not a violation to act on (needs a reason); skip: leave it for another reviewer."""

    warn = "warn"
    case = "case"
    reject = "reject"
    skip = "skip"


class RejectReason(str, Enum):
    """Why a candidate was rejected."""

    false_detection = "false_detection"
    not_a_violation = "not_a_violation"
    duplicate = "duplicate"
    other = "other"


class CorrectionIn(BaseModel):
    """The reviewer's correction of what the detector saw, so the exported training label is right.

    The values are checked against the class vocabulary and the box rules by the decision route, which
    answers 422 with a precise code (correction_unknown_class, correction_bad_box, correction_empty,
    correction_not_allowed)."""

    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(default=None, min_length=1, max_length=64, description="Corrected object class: a "
                              "class the detectors use (COCO names such as car, truck, person, the rules' classes "
                              "such as tricycle, garbage, and the zones' `labels`). Null: the detector's class "
                              "stands.")
    box: list[float] | None = Field(default=None, min_length=4, max_length=4, description="Corrected box [x1, y1, "
                                    "x2, y2] in fractions (0-1) of the evidence frame's width and height, x1 < x2, "
                                    "y1 < y2, at least 1 % of the frame on each side. Null: the detector's box "
                                    "stands.")


class CorrectionOut(BaseModel):
    """A stored correction (with the decision it came with)."""

    label: str | None = Field(description="Corrected object class, or null (the detector's stands).")
    box: list[float] | None = Field(description="Corrected box [x1, y1, x2, y2] in fractions of the frame, or null.")


class DecisionIn(BaseModel):
    """A reviewer's decision on one candidate."""

    model_config = ConfigDict(extra="forbid")
    decision: DecisionKind = Field(description="warn, case, reject or skip.")
    reason: RejectReason | None = Field(default=None, description="Required with reject (false_detection, "
                                        "not_a_violation, duplicate, other); not allowed otherwise.")
    note: Note = None
    correction: CorrectionIn | None = Field(default=None, description="Optional: the object's corrected class "
                                            "and/or box, stored with the decision, audited, undone with it and "
                                            "used by `dataset export`. Not with skip. With reject "
                                            "`false_detection` (the detector named the wrong class) a corrected "
                                            "class turns the hard negative into a label of that class.")

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("must not contain control characters")
        return value.strip() or None

    @model_validator(mode="after")
    def _reason(self) -> "DecisionIn":
        if self.decision == DecisionKind.reject and self.reason is None:
            raise ValueError("reason is required when decision is 'reject' "
                             "(false_detection, not_a_violation, duplicate or other)")
        if self.decision != DecisionKind.reject and self.reason is not None:
            raise ValueError(f"reason is only for decision 'reject', not '{self.decision.value}'")
        return self


class DecisionOut(BaseModel):
    """A recorded decision."""

    candidate_id: int = Field(description="The candidate decided.")
    decision: DecisionKind = Field(description="warn, case, reject or skip.")
    reason: RejectReason | None = Field(description="Reject reason, if rejected.")
    note: str | None = Field(description="The reviewer's note.")
    decided_by: str = Field(description="Username of the reviewer.")
    decided_at: datetime = Field(description="When (UTC).")
    status: str = Field(description="The candidate's status now: warned, case, rejected (or pending after a skip).")
    undo_until: datetime | None = Field(default=None, description="Until when the reviewer may take the decision back "
                                        "(POST .../decision/undo); its notice or case is held until then. Null for a "
                                        "skip or when `server.undo_seconds` is 0.")
    correction: CorrectionOut | None = Field(default=None, description="The correction stored with it, if any.")


class UndoOut(BaseModel):
    """A decision taken back within its undo window: the candidate is pending again and claimed by the caller."""

    candidate_id: int = Field(description="The candidate, pending again.")
    undone: DecisionKind = Field(description="The decision that was taken back.")
    withdrawn: list[str] = Field(description="Refs of the held notice or case that were dropped before anyone saw them.")
    status: str = Field(description="The candidate's status now (pending).")


class ConflictOut(ErrorOut):
    """Why a decision was refused (HTTP 409): code claimed_by_other, not_pending or already_decided."""

    detail: str = Field(description="What is in the way, phrased for the user.")
    decision: DecisionOut | None = Field(default=None, description="The decision already made, if that is the conflict.")
    claimed_by: str | None = Field(default=None, description="The reviewer holding the claim, if that is the conflict.")


class HistoryItem(BaseModel):
    """One decision with what it was about."""

    id: int = Field(description="Decision id.")
    candidate_id: int = Field(description="The candidate decided.")
    decision: DecisionKind = Field(description="warn, case or reject.")
    reason: RejectReason | None = Field(description="Reject reason.")
    note: str | None = Field(description="The reviewer's note.")
    decided_by: str = Field(description="Username of the reviewer.")
    decided_at: datetime = Field(description="When (UTC).")
    camera_id: str = Field(description="Camera of the candidate.")
    zone_id: str = Field(description="Zone of the candidate.")
    camera_name: str | None = Field(default=None, description="Display name of that camera, if it has one.")
    zone_name: str | None = Field(default=None, description="Display name of that zone, if it has one.")
    violation: str = Field(description="Violation type of the candidate.")
    label: str = Field(description="Detector label.")
    score: float = Field(description="Detection score.")
    status: str = Field(description="The candidate's status now.")
    thumbnail_url: str | None = Field(description="The candidate's crop (or frame), authenticated.")
    notice_ref: str | None = Field(default=None, description="The warning notice issued for it (SW-N-…), if any.")
    notice_status: str | None = Field(default=None, description="That notice's status now (open, awaiting_supervisor, complied, escalated, cancelled, withdrawn).")
    case_ref: str | None = Field(default=None, description="The enforcement case opened for it (SW-C-…), directly or by escalation, if any.")
    case_status: str | None = Field(default=None, description="That case's status now (open, accepted, closed, rejected).")


class HistoryPage(BaseModel):
    """One page of the decision history, newest first."""

    items: list[HistoryItem] = Field(description="Decisions of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
