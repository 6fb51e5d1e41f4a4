"""Cameras and zones in the database: imported from the config file, edited in the UI, read by workers."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from streetwarden.store.schema import Camera, ZoneRow
from streetwarden.config import CameraConfig, Settings, ZoneConfig
from streetwarden.redact import mask_url

_ZONE_COLUMNS = {"id", "name", "kind", "polygon", "dwell_seconds"}


def zone_hash(cam: CameraConfig) -> str:
    payload = json.dumps([z.model_dump(mode="json") for z in cam.zones], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def masks_hash(cam: CameraConfig) -> str:
    return hashlib.sha256(json.dumps([[list(p) for p in m] for m in cam.masks]).encode()).hexdigest()


def row_masks(row: Camera) -> list[list[tuple[float, float]]]:
    """The camera's stored masks as polygons of (x, y) fractions."""
    return [[(float(x), float(y)) for x, y in m] for m in (row.masks or [])]


def zone_row(camera_id: str, z: ZoneConfig) -> ZoneRow:
    data = z.model_dump(mode="json")
    return ZoneRow(camera_id=camera_id, zone_id=z.id, name=z.name, kind=data["kind"], polygon=data["polygon"],
                   dwell_seconds=z.dwell_seconds, settings={k: v for k, v in data.items() if k not in _ZONE_COLUMNS})


def row_to_zone(row: ZoneRow) -> ZoneConfig:
    return ZoneConfig(id=row.zone_id, name=row.name, kind=row.kind, polygon=[tuple(p) for p in row.polygon],
                      dwell_seconds=row.dwell_seconds, **(row.settings or {}))


CONFIG_SYNC_LOCK_KEY = 0x5357_4353  # "SWCS": one config-file import at a time per PostgreSQL database


def sync_cameras(s: Session, settings: Settings) -> None:
    """Make the database match the config file's cameras.

    The config's zones (and, separately, its masks) are (re)imported when a camera is new or they
    changed in the file since the last import; otherwise zones and masks edited in the UI are kept. Many nodes starting at once on
    PostgreSQL import one after the other (a transaction-scoped advisory lock), never colliding.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CONFIG_SYNC_LOCK_KEY})
    for cam in settings.cameras:
        row = s.get(Camera, cam.id)
        if row is None:
            row = Camera(id=cam.id, zones_version=0)
            s.add(row)
        row.name = cam.name
        row.source_masked = mask_url(cam.source)
        row.analysis_fps = cam.analysis_fps
        row.enabled = cam.enabled
        row.address, row.latitude, row.longitude = cam.address, cam.latitude, cam.longitude
        digest = zone_hash(cam)
        if row.config_hash != digest:
            row.zones.clear()
            s.flush()
            row.zones.extend(zone_row(cam.id, z) for z in cam.zones)
            row.config_hash = digest
            row.zones_version = (row.zones_version or 0) + 1
        digest = masks_hash(cam)
        if row.masks_hash != digest:  # as with zones: the file's masks when they changed there, else the UI's
            masks = [[list(p) for p in m] for m in cam.masks]
            if (row.masks or []) != masks:
                row.masks = masks
                row.zones_version = (row.zones_version or 0) + 1
            row.masks_hash = digest
    s.flush()


def load_zones(s: Session, camera_id: str) -> tuple[int, list[ZoneConfig]]:
    """(version, zones) of a camera as stored; workers reload when the version moves."""
    cam = s.get(Camera, camera_id)
    if cam is None:
        return 0, []
    rows = s.scalars(select(ZoneRow).where(ZoneRow.camera_id == camera_id).order_by(ZoneRow.zone_id)).all()
    return cam.zones_version, [row_to_zone(r) for r in rows]


def zones_version(s: Session, camera_id: str) -> int:
    return s.scalar(select(Camera.zones_version).where(Camera.id == camera_id)) or 0


def load_masks(s: Session, camera_id: str) -> list[list[tuple[float, float]]]:
    """A camera's masks as stored (they share zones_version: workers reload both on a change)."""
    cam = s.get(Camera, camera_id)
    return row_masks(cam) if cam is not None else []
