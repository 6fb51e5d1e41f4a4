"""Times as the outside world reads them: ISO 8601 UTC for wall-clock times, and back."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from streetwarden.store.errors import Invalid


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seen_time(t: float, live: bool) -> str | float:
    """Candidate times: ISO for live cameras, seconds into the file for recorded footage."""
    return iso(t) if live else round(t, 2)  # type: ignore[return-value]


LATEST = 4133980800.0  # 2101-01-01T00:00:00Z: times the API takes lie in 1970-2100


def parse_time(value: str, field: str = "time") -> float:
    """ISO 8601 (a missing zone means UTC) or Unix seconds -> Unix seconds; Invalid names the field."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = _iso_seconds(text, value, field)
    if not (math.isfinite(seconds) and 0.0 <= seconds < LATEST):
        raise Invalid(f"{field}: '{value}' is outside 1970-01-01 to 2100-12-31")
    return seconds


def _iso_seconds(text: str, value: str, field: str) -> float:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{field}: '{value}' is neither ISO 8601 (2024-05-01T08:00:00Z) nor Unix seconds") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
