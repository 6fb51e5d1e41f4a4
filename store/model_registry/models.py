"""Tables of the model registry.

`model_versions`: one row per registered model file (NAME@VERSION), its card, metrics, state, the
cameras it is active or shadowing on and the configured model it stands in for (`slot`). `shadow_candidates`: what a shadow model would have raised,
kept apart from `candidates` so nothing of a shadow ever reaches the queue, notices or webhooks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from streetwarden.store.schema import Base, now


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_version"),
                      Index("ix_model_versions_state", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, doc="1, 2, ... per name")
    file: Mapped[str] = mapped_column(String(200), doc="File name in the model store")
    sha256: Mapped[str] = mapped_column(String(64))
    family: Mapped[str | None] = mapped_column(String(32))
    slot: Mapped[str | None] = mapped_column(String(100), doc=(
        "Key in `models` of the configured model it stands in for (e.g. garbage, an extra model); "
        "None: each camera's own `model`"))
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="The model card as registered")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="Evaluation figures (from the card)")
    score_threshold: Mapped[float | None] = mapped_column(Float, doc="None: the camera's configured model's threshold")
    state: Mapped[str] = mapped_column(String(16), default="candidate", doc="candidate, shadow, active or retired")
    cameras: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="Shadow/active scope; [] = every camera (active)")
    shadow_cameras: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="Cameras it last shadowed on (for its report)")
    previous_id: Mapped[int | None] = mapped_column(Integer, doc="The active version this one replaced (rollback target)")
    registered_at: Mapped[float] = mapped_column(Float, default=now)
    shadow_since: Mapped[float | None] = mapped_column(Float)
    shadow_until: Mapped[float | None] = mapped_column(Float)
    activated_at: Mapped[float | None] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class ShadowCandidate(Base):
    """A would-be candidate of a shadow model (never queued)."""

    __tablename__ = "shadow_candidates"
    __table_args__ = (Index("ix_shadow_candidates_model", "model_version_id", "camera_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(64))
    zone_id: Mapped[str] = mapped_column(String(64))
    violation: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[Any]] = mapped_column(JSON, doc="[x1, y1, x2, y2] in source pixels")
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    incident: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, default=now)
