"""Request and response models of the integration API; they are what the OpenAPI document shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Place(BaseModel):
    camera_id: str = Field(description="Camera that saw the violation.")
    zone_id: str = Field(description="Zone of the camera image where it was seen.")
    address: str | None = Field(description="Configured street address of the camera's view.")
    latitude: float | None = Field(description="WGS-84 latitude of the camera's view.")
    longitude: float | None = Field(description="WGS-84 longitude of the camera's view.")


class Seen(BaseModel):
    first: str | float = Field(description="First seen: ISO 8601 UTC, or seconds into a recording when clock is seconds_into_recording.")
    last: str | float = Field(description="Last seen, same clock as `first`.")
    clock: Literal["utc", "seconds_into_recording"] = Field(description="How to read first/last.")


class Plate(BaseModel):
    text: str = Field(description="Mainland plate, e.g. 粤B12345 or 粤BD12345 (new energy).")
    confidence: float | None = Field(description="OCR confidence 0-1; 1.0 once a reviewer corrected it.")


class EvidenceItem(BaseModel):
    id: int
    kind: str = Field(description="frame | crop | first | before | after | attribution | recheck")
    sha256: str = Field(description="SHA-256 of the file as written.")
    media_type: str
    width: int
    height: int
    note: str | None


class Recheck(BaseModel):
    attempts: int = Field(description="Re-checks run so far (postponements included).")
    checked_at: str | None = Field(description="When the camera last judged the place (ISO 8601 UTC).")
    note: str | None = Field(description="What the re-check found, or why it was postponed (e.g. camera offline).")
    next_check_at: str | None = Field(description="Next re-check while the notice is open.")
    evidence_id: int | None = Field(description="Evidence item of the re-check frame.")


class _Record(BaseModel):
    ref: str = Field(description="Stable public id: SW-N-nnnnnn for notices, SW-C-nnnnnn for cases.")
    violation: Literal["sidewalk_parking", "street_vendor", "out_of_shop", "illegal_dumping"]
    label: str = Field(description="What the detector saw (car, truck, umbrella, …).")
    place: Place
    box: list[float] = Field(description="[x1, y1, x2, y2] in pixels of a frame of `frame_size`.")
    frame_size: list[int]
    seen: Seen
    shop_id: str | None = Field(description="The shop the notice or case is addressed to (out-of-shop trading).")
    plate: Plate | None
    candidate_id: int
    created_at: str | None
    updated_at: str | None = Field(description="Last change; what `updated_since` and the cursor order by.")
    evidence: list[EvidenceItem]
    bundle_url: str = Field(description="ZIP of the evidence with a SHA-256 manifest.")


class NoticeOut(_Record):
    kind: Literal["notice"]
    status: Literal["open", "awaiting_supervisor", "complied", "escalated", "cancelled"]
    issued_by: str
    issued_at: str | None
    grace_seconds: float
    deadline: str | None = Field(description="When the camera re-checks the place.")
    recheck: Recheck
    closed_at: str | None
    close_reason: str | None = Field(description="complied | escalated | cancelled")
    case_ref: str | None = Field(description="The case it was escalated to.")
    note: str | None


class HistoryItem(BaseModel):
    from_: str | None = Field(alias="from")
    to: str
    result: str | None
    actor: str
    source: str = Field(description="reviewer | supervisor | system | integration")
    note: str | None
    at: str | None


class CaseOut(_Record):
    kind: Literal["case"]
    status: Literal["open", "accepted", "closed", "rejected"]
    origin: Literal["decision", "escalation", "supervisor"] = Field(description="A reviewer's case decision, an automatic escalation after a re-check, or a supervisor's.")
    notice_ref: str | None
    result: str | None
    external_id: str | None = Field(description="The case system's own id, once it sent one.")
    created_by: str
    note: str | None
    history: list[HistoryItem]


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    resume_cursor: str | None = Field(description="Pass as `cursor` later to get only what changed after this page.")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    resume_cursor: str | None = Field(description="Pass as `cursor` later to get only what changed after this page.")


class StatusChange(BaseModel):
    """A status change sent by the case system."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "closed", "rejected"] = Field(description="New status: open -> accepted -> closed; rejected from open or accepted.")
    result: str | None = Field(default=None, max_length=2000, description="Outcome; required with `closed` (e.g. 'fined 200 CNY').")
    external_id: str | None = Field(default=None, max_length=100, description="The case system's own id of the case.")
    note: str | None = Field(default=None, max_length=2000, description="Free text shown in the case history.")


class StatusResult(BaseModel):
    changed: bool = Field(description="False when the same change had already been applied (a retried request).")
    case: CaseOut


class Delivery(BaseModel):
    id: int
    event_type: str
    ref: str
    idempotency_key: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    last_status_code: int | None
    delivered_at: str | None
    created_at: str | None
