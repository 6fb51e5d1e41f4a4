"""Zone edits: validated as ZoneConfig, stored as ZoneRow, and Camera.zones_version bumped so the
running worker reloads them within a few seconds, without a restart."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from streetwarden.api.cameras.models import CameraHealth, CameraOut, ZoneOut
from streetwarden.api.values import iso
from streetwarden.redact import mask_all
from streetwarden.store.cameras import row_masks, row_to_zone, zone_row
from streetwarden.store.schema import Camera, Evidence, ZoneRow, now
from streetwarden.config import ZoneConfig


class VersionMoved(Exception):
    """The zones changed since the editor loaded them."""


def zone_out(z: ZoneConfig) -> ZoneOut:
    return ZoneOut(**z.model_dump(), violation_type=z.violation, effective_dwell_seconds=z.dwell)


def camera_out(cam: Camera, zones: list[ZoneConfig], worker, owner: str | None = None) -> CameraOut:  # type: ignore[no-untyped-def]
    health = None
    for r in getattr(worker, "runners", None) or []:
        if r.cam.id == cam.id:
            h = r.health
            health = CameraHealth(state=h.state, reason=mask_all(h.reason) if h.reason else None,
                                  frames_analysed=h.frames_analysed, reconnects=h.reconnects,
                                  last_frame_at=iso(h.last_frame_at) if h.last_frame_at is not None else None,
                                  lag_seconds=round(h.lag_seconds, 3) if h.lag_seconds is not None else None)
    return CameraOut(id=cam.id, name=cam.name, address=cam.address, latitude=cam.latitude, longitude=cam.longitude,
                     enabled=cam.enabled, analysis_fps=cam.analysis_fps, source=cam.source_masked,
                     zones_version=cam.zones_version, zones=[zone_out(z) for z in zones], masks=row_masks(cam),
                     snapshot_url=f"/api/v1/cameras/{cam.id}/snapshot", health=health, owner=owner)


def zones_of(s: Session, camera_id: str) -> list[ZoneConfig]:
    rows = s.scalars(select(ZoneRow).where(ZoneRow.camera_id == camera_id).order_by(ZoneRow.zone_id)).all()
    return [row_to_zone(r) for r in rows]


def replace_zones(s: Session, cam: Camera, zones: list[ZoneConfig] | None, expected: int | None,
                  masks: list[list[tuple[float, float]]] | None = None) -> int:
    """Store exactly these zones and/or masks (None: kept); returns the new zones_version, which
    zones and masks share, so the worker reloads both and one editor save is one version."""
    ids = [z.id for z in zones or []]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"zone id '{dupes[0]}' appears twice")
    cond = [Camera.id == cam.id]
    if expected is not None:
        cond.append(Camera.zones_version == expected)
    values: dict = {"zones_version": Camera.zones_version + 1, "updated_at": now()}
    if masks is not None:
        values["masks"] = [[list(p) for p in m] for m in masks]
    res = s.execute(update(Camera).where(*cond).values(**values))
    if res.rowcount != 1:
        raise VersionMoved(cam.id)
    if zones is not None:
        s.query(ZoneRow).filter(ZoneRow.camera_id == cam.id).delete()
        s.flush()
        for z in zones:
            s.add(zone_row(cam.id, z))
        s.flush()
    s.refresh(cam)
    return cam.zones_version


def snapshot_path(s: Session, storage: Path, camera_id: str) -> Path | None:
    """The worker's latest snapshot, else the camera's latest evidence frame."""
    snap = storage / "snapshots" / f"{camera_id}.jpg"
    if snap.is_file():
        return snap
    from streetwarden.store.schema import Candidate

    rel = s.scalar(select(Evidence.path).join(Candidate, Candidate.id == Evidence.candidate_id)
                   .where(Candidate.camera_id == camera_id, Evidence.kind == "frame").order_by(Evidence.id.desc()).limit(1))
    if rel:
        p = (storage / rel).resolve()
        if storage.resolve() in p.parents and p.is_file():
            return p
    return None
