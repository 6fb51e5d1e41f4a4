"""Request and response models of the integration API; they are what the OpenAPI document shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streetwarden.api.values import ViolationName


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


class ViolationCodeOut(BaseModel):
    category: str = Field(description="Category (大类), e.g. 街面秩序.")
    category_code: str = Field(description="The category's code, e.g. 05.")
    code: str = Field(description="Subclass (小类) code, e.g. 0505.")
    name: str = Field(description="Subclass name, e.g. 机动车乱停放.")


class EvidenceItem(BaseModel):
    id: int = Field(description="Evidence item id.")
    kind: str = Field(description="frame | crop | first | before | after | attribution | recheck")
    sha256: str = Field(description="SHA-256 of the file as written.")
    media_type: str = Field(description="MIME type of the file, e.g. image/jpeg.")
    width: int = Field(description="Image width in pixels.")
    height: int = Field(description="Image height in pixels.")
    note: str | None = Field(description="What the picture shows, when known.")


class Recheck(BaseModel):
    attempts: int = Field(description="Re-checks run so far (postponements included).")
    checked_at: str | None = Field(description="When the camera last judged the place (ISO 8601 UTC).")
    note: str | None = Field(description="What the re-check found, or why it was postponed (e.g. camera offline).")
    next_check_at: str | None = Field(description="Next re-check while the notice is open.")
    evidence_id: int | None = Field(description="Evidence item of the re-check frame.")


class _Record(BaseModel):
    ref: str = Field(description="Stable public id: SW-N-nnnnnn for notices, SW-C-nnnnnn for cases.")
    violation: ViolationName = Field(description="Violation type.")
    violation_code: ViolationCodeOut = Field(description="How the case system files it (GB/T 30428 / CJJ/T 106 event class, or this deployment's `violation_codes`), as when it was issued.")
    label: str = Field(description="What the detector saw (car, truck, umbrella, …).")
    place: Place = Field(description="Where the violation was seen.")
    box: list[float] = Field(description="[x1, y1, x2, y2] in pixels of a frame of `frame_size`.")
    frame_size: list[int] = Field(description="[width, height] in pixels of the frame the box refers to.")
    seen: Seen = Field(description="When the violation was first and last seen.")
    shop_id: str | None = Field(description="The shop the notice or case is addressed to (out-of-shop trading).")
    plate: Plate | None = Field(description="Licence plate read from the vehicle; null when none was read.")
    candidate_id: int = Field(description="The reviewed detection (candidate) it was issued for.")
    created_at: str | None = Field(description="When it was created (ISO 8601 UTC).")
    updated_at: str | None = Field(description="Last change; what `updated_since` and the cursor order by (ISO 8601 UTC).")
    evidence: list[EvidenceItem] = Field(description="Pictures kept as evidence, oldest first.")
    bundle_url: str = Field(description="ZIP of the evidence with a SHA-256 manifest.")


class NoticeOut(_Record):
    kind: Literal["notice"] = Field(description="Always `notice`.")
    status: Literal["open", "awaiting_supervisor", "complied", "escalated", "cancelled", "withdrawn"] = Field(
        description="open until the re-check; awaiting_supervisor when the violation persisted; then complied, escalated "
        "or cancelled; withdrawn when a supervisor took back a notice issued in error (the reason is in `note`).")
    issued_by: str = Field(description="Username of the reviewer who issued the notice.")
    issued_at: str | None = Field(description="When the notice was issued (ISO 8601 UTC).")
    grace_seconds: float = Field(description="Time given to comply before the re-check, in seconds.")
    deadline: str | None = Field(description="When the camera re-checks the place (ISO 8601 UTC): issued_at + grace_seconds.")
    recheck: Recheck = Field(description="State of the camera re-check after the grace period.")
    closed_at: str | None = Field(description="When the notice was closed (ISO 8601 UTC); null while open.")
    close_reason: str | None = Field(description="complied | escalated | cancelled | withdrawn")
    case_ref: str | None = Field(description="The case it was escalated to.")
    note: str | None = Field(description="Note of the reviewer who issued the notice.")


class HistoryItem(BaseModel):
    from_: str | None = Field(alias="from", description="Status before the change; null for the creation of the case.")
    to: str = Field(description="Status after the change.")
    result: str | None = Field(description="Outcome recorded with the change (set with `closed`).")
    actor: str = Field(description="Username of whoever made the change.")
    source: str = Field(description="reviewer | supervisor | system | integration")
    note: str | None = Field(description="Free text given with the change.")
    at: str | None = Field(description="When the change was made (ISO 8601 UTC).")


class CaseOut(_Record):
    kind: Literal["case"] = Field(description="Always `case`.")
    status: Literal["open", "accepted", "closed", "rejected"] = Field(description="open -> accepted -> closed; rejected from open or accepted.")
    origin: Literal["decision", "escalation", "supervisor"] = Field(description="A reviewer's case decision, an automatic escalation after a re-check, or a supervisor's.")
    notice_ref: str | None = Field(description="The notice it was escalated from, if any.")
    result: str | None = Field(description="Outcome reported by the case system when it closed the case.")
    external_id: str | None = Field(description="The case system's own id, once it sent one.")
    created_by: str = Field(description="Who opened the case (the deciding reviewer or supervisor, or the escalating process).")
    note: str | None = Field(description="Note given when the case was opened.")
    history: list[HistoryItem] = Field(description="Status changes, oldest first (the audit trail).")


class NoticePage(BaseModel):
    items: list[NoticeOut] = Field(description="Notices of this page, oldest change first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    resume_cursor: str | None = Field(description="Pass as `cursor` later to get only what changed after this page; null with order=newest.")


class CasePage(BaseModel):
    items: list[CaseOut] = Field(description="Cases of this page, oldest change first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    resume_cursor: str | None = Field(description="Pass as `cursor` later to get only what changed after this page; null with order=newest.")


class StatusChange(BaseModel):
    """A status change sent by the case system."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "closed", "rejected"] = Field(description="New status: open -> accepted -> closed; rejected from open or accepted.")
    result: str | None = Field(default=None, max_length=2000, description="Outcome; required with `closed` (e.g. 'fined 200 CNY').")
    external_id: str | None = Field(default=None, max_length=100, description="The case system's own id of the case.")
    note: str | None = Field(default=None, max_length=2000, description="Free text shown in the case history.")


class StatusResult(BaseModel):
    changed: bool = Field(description="False when the same change had already been applied (a retried request).")
    case: CaseOut = Field(description="The case after the change.")


class Delivery(BaseModel):
    id: int = Field(description="Delivery id; pass the last one seen as `after_id` to page.")
    event_type: str = Field(description="notice.created | notice.closed | case.created | case.updated")
    ref: str = Field(description="Notice or case the event is about (SW-N-… / SW-C-…).")
    idempotency_key: str = Field(description="Sent as the Idempotency-Key header; the same on every attempt and redelivery.")
    status: Literal["pending", "delivered", "dead"] = Field(description="pending: to be (re)tried; delivered; dead: gave up after the last attempt.")
    attempts: int = Field(description="Attempts made so far.")
    next_attempt_at: str | None = Field(description="When the next attempt is due (ISO 8601 UTC); null unless pending.")
    last_error: str | None = Field(description="Error of the last failed attempt.")
    last_status_code: int | None = Field(description="HTTP status code of the last attempt's response, if one came.")
    delivered_at: str | None = Field(description="When it was delivered (ISO 8601 UTC).")
    created_at: str | None = Field(description="When the event was queued (ISO 8601 UTC).")
