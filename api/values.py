"""Shared request value types with their limits (so a huge id or a NaN is a 422, never a 500)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime, timezone
from enum import Enum
from typing import Annotated, Literal

import pydantic_core
from fastapi import Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from streetwarden.vocabulary import VIOLATIONS

MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL BIGINT hold: every id in the API is 1..MAX_ID
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # days a statistics query may name
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Violation = Enum("Violation", {v: v for v in VIOLATIONS}, type=str)  # type: ignore[misc]
Violation.__doc__ = f"Violation type: {', '.join(VIOLATIONS)}."
# the same values where a plain string is wanted (a query parameter, a record field): the schema lists them
ViolationName = Literal.__getitem__(VIOLATIONS)  # type: ignore[attr-defined]


class CandidateStatus(str, Enum):
    """Where a candidate stands: pending (in the queue), warned, case or rejected."""

    pending = "pending"
    warned = "warned"
    case = "case"
    rejected = "rejected"


CandidateId = Annotated[int, Path(ge=1, le=MAX_ID, description="Candidate id.")]
CameraId = Annotated[str, Path(pattern=ID_PATTERN, description="Camera id.")]
Note = Annotated[str | None, Field(default=None, max_length=2000,
                                   description="Free text kept with the decision (at most 2000 characters).")]


def bad_request_value(field: str, message: str) -> RequestValidationError:
    """A 422 for a value that passed the type check but not a rule of ours."""
    return RequestValidationError([{"loc": tuple(field.split(".")), "msg": message, "type": "value_error"}])


def to_seconds(value: datetime | None) -> float | None:
    """ISO 8601 or Unix seconds (pydantic parses both); naive times are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def iso(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["id"]
        if not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise ValueError
        return value
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise bad_request_value("query.cursor", "not a cursor returned by this API (use next_cursor as given)") from None


def json_response(payload: object, status_code: int = 200) -> Response:
    """Serialise once, in Rust (pydantic-core), skipping FastAPI's re-validation of the hot routes'
    output; the route's response_model still documents the shape."""
    return Response(pydantic_core.to_json(payload), status_code=status_code, media_type="application/json")
