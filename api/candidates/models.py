"""Bodies of the queue routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from streetwarden.api.decisions.models import CorrectionOut
from streetwarden.api.values import CandidateStatus, Violation
from streetwarden.vocabulary import VIOLATIONS


class EvidenceOut(BaseModel):
    """One evidence file of a candidate."""

    id: int = Field(description="Evidence id.")
    kind: str = Field(description="frame (whole frame, box drawn), crop (the object), first (when it was first "
                      "seen), before / after (illegal dumping: the place before and after), attribution (who "
                      "or what was near), recheck; clip / clip_recheck: MP4 video around the raise / a re-check.")
    url: str = Field(description="Where to fetch the file (authenticated; clips answer HTTP Range requests).")
    sha256: str = Field(description="SHA-256 of the file as stored, to prove it unchanged.")
    width: int = Field(description="Image width in pixels.")
    height: int = Field(description="Image height in pixels.")
    ts: float = Field(description="When the picture was taken (same clock as first_seen).")
    note: str | None = Field(description="What the picture shows, when the detector said.")


class ClaimInfo(BaseModel):
    """Who holds the lease on a candidate."""

    user: str = Field(description="Username of the reviewer holding the claim.")
    expires_at: float = Field(description="Unix time when the lease ends unless renewed.")
    mine: bool = Field(description="True when the caller holds it.")


class DecisionInfo(BaseModel):
    """The final decision on a candidate."""

    decision: str = Field(description="warn, case or reject.")
    reason: str | None = Field(description="Reject reason: false_detection, not_a_violation, duplicate or other.")
    note: str | None = Field(description="The reviewer's note.")
    decided_by: str = Field(description="Username of the reviewer.")
    decided_at: datetime = Field(description="When (UTC).")
    correction: CorrectionOut | None = Field(default=None, description="The reviewer's corrected class and/or box "
                                             "stored with the decision, if any.")


class CandidateOut(BaseModel):
    """A candidate violation with all the evidence a reviewer needs."""

    id: int = Field(description="Candidate id.")
    camera_id: str = Field(description="Camera id.")
    camera_name: str | None = Field(description="Camera display name.")
    address: str | None = Field(description="Street address of the camera's view.")
    zone_id: str = Field(description="Zone id within the camera.")
    zone_name: str | None = Field(description="Zone display name.")
    violation: str = Field(description=f"Violation type: {', '.join(VIOLATIONS)}.")
    label: str = Field(description="Detector label of the object (car, truck, person, …).")
    score: float = Field(description="Best detection score, 0-1.")
    status: str = Field(description="pending, warned, case or rejected.")
    box: list[float] = Field(description="Best box [x1, y1, x2, y2] in source pixels.")
    frame_width: int = Field(description="Source frame width in pixels.")
    frame_height: int = Field(description="Source frame height in pixels.")
    live: bool = Field(description="True: times are Unix seconds; false (recorded file): seconds from its start.")
    first_seen: float = Field(description="When the violation was first seen (see `live`).")
    last_seen: float = Field(description="When it was last seen (see `live`).")
    first_seen_at: datetime | None = Field(description="first_seen as UTC time (live cameras only).")
    last_seen_at: datetime | None = Field(description="last_seen as UTC time (live cameras only).")
    active: bool = Field(description="Still being seen by the camera.")
    created_at: datetime = Field(description="When the candidate entered the queue (UTC).")
    attributes: dict[str, Any] = Field(description="Detector-specific facts (e.g. attribution of a dumping).")
    evidence: list[EvidenceOut] = Field(description="Evidence files, oldest first.")
    claim: ClaimInfo | None = Field(description="The live claim on it, if any.")
    decision: DecisionInfo | None = Field(description="The final decision, once decided.")
    class_choices: list[str] = Field(default_factory=list, description="Classes the queue offers when the reviewer "
                                     "corrects the object's class (its own label first, then what its rule watches; "
                                     "at most 9). A correction may name any class the detectors use.")


class CandidatePage(BaseModel):
    """One page of a candidate list."""

    items: list[CandidateOut] = Field(description="Candidates of this page.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ClaimIn(BaseModel):
    """Ask for the next candidates to review."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(default=3, ge=1, le=20, description="How many candidates to hold at once (the current one "
                       "plus the ones to preload), 1-20. Candidates already held count towards it.")
    violation: Violation | None = Field(default=None, description="Only this violation type.")
    camera_id: str | None = Field(default=None, max_length=64, description="Only this camera.")


class ClaimOut(BaseModel):
    """The caller's working set: candidates claimed for them, oldest first."""

    items: list[CandidateOut] = Field(description="Claimed candidates (held ones renewed, then new ones).")
    lease_seconds: float = Field(description="How long each claim lasts unless renewed (`server.claim_seconds`).")
    expires_at: float = Field(description="Unix time when these claims end unless renewed by another claim call.")


class QueueStats(BaseModel):
    """Counts for the queue page."""

    pending: int = Field(description="Candidates waiting for a decision (with the filters).")
    available: int = Field(description="Pending ones the caller could claim now (not held by others, not "
                           "recently skipped by the caller).")
    claimed_by_me: int = Field(description="Live claims of the caller.")
    claimed_by_others: int = Field(description="Live claims of other reviewers.")
    by_violation: dict[str, int] = Field(description="Pending candidates per violation type.")
    decided_by_me_24h: int = Field(description="Decisions the caller made in the last 24 hours.")


class ListFilters(BaseModel):
    """Filters shared by list and stats (internal)."""

    status: CandidateStatus | None = None
    violation: Violation | None = None
    camera_id: str | None = None
    since: float | None = None
    until: float | None = None
