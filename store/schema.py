"""SQLAlchemy 2 schema of the detection side: cameras, zones, candidates, evidence.

Portable SQL only (SQLite embedded, PostgreSQL scaled out). Times of a candidate are float seconds:
Unix time for live cameras, seconds from the start for recorded files (`live` tells which).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> float:
    return time.time()


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    source_masked: Mapped[str] = mapped_column(Text, default="", doc="Source with any password replaced by ***")
    analysis_fps: Mapped[float] = mapped_column(Float, default=1.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    config_hash: Mapped[str | None] = mapped_column(String(64), doc="Hash of the zones last imported from the config file")
    zones_version: Mapped[int] = mapped_column(Integer, default=0, doc="Bumped on every zone or mask change; workers reload on change")
    masks: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="Mask polygons (frame fractions): nothing inside is analysed")
    masks_hash: Mapped[str | None] = mapped_column(String(64), doc="Hash of the masks last imported from the config file")
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)

    zones: Mapped[list["ZoneRow"]] = relationship(back_populates="camera", cascade="all, delete-orphan", order_by="ZoneRow.zone_id")


class ZoneRow(Base):
    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("camera_id", "zone_id", name="uq_zone_camera"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    polygon: Mapped[list[Any]] = mapped_column(JSON)
    dwell_seconds: Mapped[float | None] = mapped_column(Float)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="Other ZoneConfig fields")
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)

    camera: Mapped[Camera] = relationship(back_populates="zones")


class Candidate(Base):
    """One real-world violation as the reviewer sees it."""

    __tablename__ = "candidates"
    __table_args__ = (
        Index("ix_candidates_dedupe", "camera_id", "zone_id", "violation", "last_seen"),
        Index("ix_candidates_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    zone_id: Mapped[str] = mapped_column(String(64))
    violation: Mapped[str] = mapped_column(String(32), index=True)
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[Any]] = mapped_column(JSON, doc="[x1, y1, x2, y2] in source pixels")
    frame_width: Mapped[int] = mapped_column(Integer, default=0)
    frame_height: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, doc="Still being seen by the camera")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    dedupe_key: Mapped[str] = mapped_column(String(200), doc="camera/zone/violation/place bucket, for reports and audits")
    incident: Mapped[str] = mapped_column(String(64), index=True, doc="Engine incident id that last updated it")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)

    evidence: Mapped[list["Evidence"]] = relationship(back_populates="candidate", cascade="all, delete-orphan", order_by="Evidence.id")


class Evidence(Base):
    """A file kept with a candidate; the SHA-256 lets a court check it is unchanged."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text, doc="Relative to the storage folder")
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    ts: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=now)

    candidate: Mapped[Candidate] = relationship(back_populates="evidence")
