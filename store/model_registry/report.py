"""`models shadow-report`: what a shadow model would have changed, judged by the reviewers' decisions
on the active model's candidates of the same cameras and period. A shadow of an extra model's slot
runs with the camera's model (its would-be candidates come from both), so it is compared the same way.

A shadow would-be candidate and an active candidate agree when camera and violation are the same,
their seen intervals overlap and their boxes overlap by IoU >= MATCH_IOU (one-to-one, best IoU first).
Unmatched shadow rows are what it would have added; unmatched rejected candidates what it would
have avoided; unmatched confirmed (warn / case) candidates what it would have missed.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from streetwarden.models.detections import box_iou
from streetwarden.store.model_registry.models import ShadowCandidate
from streetwarden.store.model_registry.service import RegistryError, get, slot_words
from streetwarden.store.review import Decision
from streetwarden.store.schema import Candidate, now

MATCH_IOU = 0.3
CONFIRMED = ("warn", "case")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _agree(a: Candidate, b: ShadowCandidate) -> float:
    if a.camera_id != b.camera_id or a.violation != b.violation or a.live != b.live:
        return 0.0
    if a.first_seen > b.last_seen or b.first_seen > a.last_seen:
        return 0.0
    return float(box_iou(np.asarray([a.box], np.float32), np.asarray([b.box], np.float32))[0, 0])


def _counts() -> dict:
    return {"shadow_candidates": 0, "active_candidates": 0,
            "agreement": {"total": 0, "confirmed": 0, "rejected": 0, "pending": 0},
            "would_have_added": 0, "would_have_avoided": 0, "would_have_missed": 0, "unmatched_pending": 0}


def shadow_report(s: Session, ref: str) -> dict:
    v = get(s, ref)
    if v.shadow_since is None:
        raise RegistryError(f"{ref} has never run in shadow: `streetwarden models shadow {ref} --cameras a,b` first",
                            "model_state")
    until = v.shadow_until or now()
    cameras = sorted(v.shadow_cameras or [])
    shadows = s.scalars(select(ShadowCandidate).where(ShadowCandidate.model_version_id == v.id)
                        .order_by(ShadowCandidate.id)).all()
    actives = s.execute(select(Candidate, Decision.decision).outerjoin(Decision, Decision.candidate_id == Candidate.id)
                        .where(Candidate.camera_id.in_(cameras), Candidate.created_at >= v.shadow_since,
                               Candidate.created_at <= until).order_by(Candidate.id)).all()
    pairs = sorted(((_agree(c, sh), i, j) for i, (c, _) in enumerate(actives) for j, sh in enumerate(shadows)),
                   key=lambda p: (-p[0], p[1], p[2]))
    matched_a: dict[int, int] = {}
    matched_s: set[int] = set()
    for iou, i, j in pairs:
        if iou < MATCH_IOU:
            break
        if i not in matched_a and j not in matched_s:
            matched_a[i] = j
            matched_s.add(j)
    total, by_camera = _counts(), {c: _counts() for c in cameras}
    details: dict[str, list] = {"agreement": [], "added": [], "avoided": [], "missed": []}
    for j, sh in enumerate(shadows):
        for out in (total, by_camera.setdefault(sh.camera_id, _counts())):
            out["shadow_candidates"] += 1
            out["would_have_added"] += j not in matched_s
        if j not in matched_s:
            details["added"].append(sh.id)
    for i, (c, decision) in enumerate(actives):
        kind = "confirmed" if decision in CONFIRMED else "rejected" if decision == "reject" else "pending"
        for out in (total, by_camera[c.camera_id]):
            out["active_candidates"] += 1
            if i in matched_a:
                out["agreement"]["total"] += 1
                out["agreement"][kind] += 1
            else:
                key = {"confirmed": "would_have_missed", "rejected": "would_have_avoided", "pending": "unmatched_pending"}[kind]
                out[key] += 1
        if i in matched_a:
            details["agreement"].append([c.id, shadows[matched_a[i]].id])
        elif kind != "pending":
            details["missed" if kind == "confirmed" else "avoided"].append(c.id)
    return {"model": v.ref, "slot": v.slot, "state": v.state, "cameras": cameras,
            "period": {"from": _iso(v.shadow_since), "to": _iso(until)}, "match_iou": MATCH_IOU,
            **total, "by_camera": by_camera, "details": details}


def format_report(r: dict) -> str:
    a = r["agreement"]
    return "\n".join([
        f"shadow report of {r['model']} ({r['state']}, for {slot_words(r['slot'])}) on {', '.join(r['cameras'])}, "
        f"{r['period']['from']} .. {r['period']['to']}",
        f"  shadow would-be candidates {r['shadow_candidates']}, active model's candidates {r['active_candidates']}",
        f"  agreement {a['total']} (confirmed {a['confirmed']}, rejected {a['rejected']}, undecided {a['pending']})",
        f"  would have added {r['would_have_added']} (shadow only)",
        f"  would have avoided {r['would_have_avoided']} (rejected by reviewers, not raised by the shadow)",
        f"  would have missed {r['would_have_missed']} (confirmed by reviewers, not raised by the shadow)",
    ])
