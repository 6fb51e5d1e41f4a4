"""I/O schemas of the workers view."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class WorkerOut(BaseModel):
    """One worker node."""

    id: str = Field(description="Node id ($STREETWARDEN_NODE_ID, e.g. the pod name, or host-pid).")
    host: str = Field(description="Machine it runs on.")
    pid: int = Field(description="Process id on that machine.")
    version: str = Field(description="StreetWarden version it runs.")
    state: Literal["up", "lost", "stopped"] = Field(
        description="up: heartbeat current; lost: heartbeat overdue (its cameras pass to others); stopped: left cleanly.")
    capacity: float = Field(description="Stream-cost units it takes at most.")
    load: float = Field(description="Stream-cost units of the cameras it holds.")
    cameras: list[str] = Field(description="Cameras it holds a current lease on.")
    camera_count: int = Field(description="How many.")
    lag_seconds: float | None = Field(description="Worst capture-to-analysis delay of its cameras at its last heartbeat.")
    last_heartbeat_age_seconds: float = Field(description="Seconds since its last heartbeat (database clock).")
    started_at: float = Field(description="Unix time it registered.")
    last_heartbeat_at: float = Field(description="Unix time of its last heartbeat.")


class WorkersOut(BaseModel):
    """The fleet, and the cameras nobody runs right now."""

    workers: list[WorkerOut] = Field(description="Nodes seen in the last hour, by host.")
    unowned_cameras: list[str] = Field(description="Enabled cameras with no current lease (waiting for a node with room).")
