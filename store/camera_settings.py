"""A camera's full settings in the database, so cameras added or changed there (by the API/UI)
reach running workers without a restart.

The `cameras` row keeps what the UI edits most (name, enabled, analysis_fps); this table keeps the
rest of the camera's configuration (source, transport, keyframe_only, timeouts, credentials by
environment variable, ...). Passwords never enter the database: sources are stored masked, and a
worker restores a password only from its own configuration file (same masked URL) or from the
camera's `password_env`.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from streetwarden.store.cameras import row_masks
from streetwarden.store.schema import Base, Camera
from streetwarden.config import CameraConfig, Settings
from streetwarden.redact import mask_url

# Fields kept on the `cameras` row (or as zones), not in the settings JSON.
ROW_FIELDS = {"id", "name", "enabled", "analysis_fps", "zones", "address", "latitude", "longitude", "masks"}


class CameraSettingsRow(Base):
    __tablename__ = "camera_settings"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="CameraConfig fields other than ROW_FIELDS; sources password-masked")
    origin: Mapped[str] = mapped_column(String(16), default="config", doc="config (from the YAML file) or api (added in the UI)")
    digest: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=1, doc="Bumped on every change")
    updated_at: Mapped[float] = mapped_column(Float, default=time.time, onupdate=time.time)


def settings_json(cam: CameraConfig) -> dict[str, Any]:
    data = cam.model_dump(mode="json", exclude=ROW_FIELDS)
    for key in ("source", "evidence_source"):
        if data.get(key):
            data[key] = mask_url(data[key])
    return data


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def put_camera_settings(s: Session, cam: CameraConfig, origin: str = "api") -> CameraSettingsRow:
    """Store (or update) a camera's settings; the version moves only when something changed."""
    data = settings_json(cam)
    digest = _digest(data)
    row = s.get(CameraSettingsRow, cam.id)
    if row is None:
        row = CameraSettingsRow(camera_id=cam.id, settings=data, origin=origin, digest=digest, version=1)
        s.add(row)
    elif row.digest != digest:
        row.settings, row.digest, row.version = data, digest, row.version + 1
    return row


def sync_camera_settings(s: Session, settings: Settings) -> None:
    """Record the config file's cameras (their `cameras` rows must exist: store.cameras.sync_cameras)."""
    for cam in settings.cameras:
        put_camera_settings(s, cam, origin="config")
    s.flush()


def load_camera_configs(s: Session, config: Settings, include_api: bool = True) -> dict[str, CameraConfig]:
    """The cameras a worker should run, as the database has them now.

    Cameras of the configuration file, with the database's edits applied, plus (include_api)
    cameras added through the API. Cameras of an older configuration file are left out. Masked
    sources are restored from the configuration file when the masked forms match; a camera whose
    stored settings do not validate keeps its file configuration.
    """
    by_id = {c.id: c for c in config.cameras}
    out: dict[str, CameraConfig] = {}
    rows = s.execute(select(Camera, CameraSettingsRow).join(CameraSettingsRow, CameraSettingsRow.camera_id == Camera.id)).all()
    for cam_row, set_row in rows:
        base = by_id.get(cam_row.id)
        if base is None and (set_row.origin == "config" or not include_api):
            continue
        data = dict(set_row.settings or {})
        data.update(id=cam_row.id, name=cam_row.name, enabled=bool(cam_row.enabled), analysis_fps=cam_row.analysis_fps,
                    address=cam_row.address, latitude=cam_row.latitude, longitude=cam_row.longitude,
                    masks=row_masks(cam_row))
        if base is not None:
            for key in ("source", "evidence_source"):
                real = getattr(base, key)
                if real and data.get(key) == mask_url(real):
                    data[key] = real
        try:
            out[cam_row.id] = CameraConfig.model_validate(data)
        except ValueError:
            if base is not None:
                out[cam_row.id] = base
    return out
