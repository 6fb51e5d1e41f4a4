"""I/O schemas of the model registry routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelVersionOut(BaseModel):
    ref: str = Field(description="NAME@VERSION")
    name: str = Field(description="Registry name")
    version: int = Field(description="Version number within the name")
    state: str = Field(description="candidate, shadow, active or retired")
    cameras: list[str] = Field(description="Cameras it shadows or is active on; [] while active = every camera")
    file: str = Field(description="File name in the model store")
    sha256: str = Field(description="SHA-256 of the file")
    family: str | None = Field(description="yolox or ultralytics")
    slot: str | None = Field(description="Key of `models` it stands in for (null: each camera's own `model`)")
    score_threshold: float | None = Field(description="Its own score threshold (null: the camera's model's)")
    metrics: dict[str, Any] = Field(description="Evaluation figures from its card")
    registered_at: float = Field(description="Unix time it was registered")
    activated_at: float | None = Field(description="Unix time it last became active")
    previous: int | None = Field(description="Registry id of the version it replaced (the rollback target)")


class ModelsOut(BaseModel):
    models: list[ModelVersionOut] = Field(description="Every registered version, by name and version")


class MoveIn(BaseModel):
    """A registry move: which cameras and why (for the audit log)."""

    model_config = ConfigDict(extra="forbid")

    cameras: list[str] | None = Field(default=None, max_length=500, description=(
        "Camera ids. Shadow: required. Promote / rollback: omitted or [] = every camera."))
    reason: str | None = Field(default=None, max_length=500, description="Why, kept in the audit log")


class RollbackIn(MoveIn):
    """A rollback: which slot's version (the others keep theirs)."""

    slot: str | None = Field(default=None, max_length=100, description=(
        "Key of `models` the version stands in for, e.g. garbage; omitted: each camera's own `model`."))
