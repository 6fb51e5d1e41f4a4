"""Checking a reviewer's class / box correction before it is stored with the decision.

The rules live here rather than in the pydantic model so that each refusal gets its own error code
(and so its own translated message in the queue), while the shape (a 4-number list, a short string)
stays pydantic's.
"""

from __future__ import annotations

import math
from typing import Any

from streetwarden.api.decisions.models import CorrectionIn, DecisionIn, DecisionKind
from streetwarden.api.errors import ApiError

MIN_SIDE = 0.01  # a corrected box smaller than 1 % of the frame on a side is a slip of the mouse, not an object


def _bad(detail: str, code: str) -> ApiError:
    return ApiError(422, detail, code)


def check_box(box: list[float]) -> list[float]:
    """The box rounded to 6 places, or a 422 naming what is wrong with it."""
    if not all(math.isfinite(v) for v in box):
        raise _bad("correction.box: every value must be a finite number", "correction_bad_box")
    x1, y1, x2, y2 = box
    if min(box) < 0.0 or max(box) > 1.0:
        raise _bad(f"correction.box: values are fractions of the frame and must lie in 0-1 (got {box})",
                   "correction_bad_box")
    if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE:
        raise _bad(f"correction.box: needs x1 < x2 and y1 < y2, each side at least {MIN_SIDE:g} of the frame "
                   f"(got {box}); draw the box again", "correction_bad_box")
    return [round(v, 6) for v in box]


def checked(body: DecisionIn, classes: frozenset[str]) -> tuple[str | None, list[float] | None] | None:
    """(label, box) of the request's correction, validated, or None when it carries none."""
    fix: CorrectionIn | None = body.correction
    if fix is None:
        return None
    if body.decision == DecisionKind.skip:
        raise _bad("correction: a skip leaves the candidate to others and cannot carry a correction; "
                   "send it with warn, case or reject", "correction_not_allowed")
    if fix.label is None and fix.box is None:
        raise _bad("correction: give a corrected label, a corrected box or both (or leave correction out)",
                   "correction_empty")
    label = fix.label.strip() if fix.label is not None else None
    if label is not None and label not in classes:
        raise _bad(f"correction.label: unknown class {label!r}; use a class the detectors know "
                   "(e.g. car, truck, person, tricycle, garbage)", "correction_unknown_class")
    return label, check_box(fix.box) if fix.box is not None else None


def correction_of(d: Any) -> dict | None:
    """The stored correction of a decision (ORM object or row) as the API shows it (CorrectionOut), or None."""
    if d.corrected_label is None and d.corrected_box is None:
        return None
    return {"label": d.corrected_label, "box": d.corrected_box}
