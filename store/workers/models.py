"""Tables of the worker side of a scale-out deployment.

`worker_nodes`: one row per worker process (registered at start, heartbeat while it runs), read by
the other nodes to share cameras fairly and by the API to show the fleet. `camera_leases`: who runs
each camera and until when; a camera is run only by the node whose lease is current. Times are the
database server's clock (Unix seconds), so nodes with skewed clocks still agree on expiry.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from streetwarden.store.schema import Base

NODE_STATUSES = ("running", "stopped")


class WorkerNode(Base):
    __tablename__ = "worker_nodes"
    __table_args__ = (Index("ix_worker_nodes_expires", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Node id: $STREETWARDEN_NODE_ID (pod name) or host-pid")
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[float] = mapped_column(Float, doc="Stream-cost units the node takes at most")
    load: Mapped[float] = mapped_column(Float, default=0.0, doc="Stream-cost units it runs now")
    cameras: Mapped[int] = mapped_column(Integer, default=0)
    lag_seconds: Mapped[float | None] = mapped_column(Float, doc="Worst capture-to-analysis delay of its cameras")
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, doc="heartbeat_at + lease time: the node counts as gone after it")


class CameraLease(Base):
    __tablename__ = "camera_leases"
    __table_args__ = (Index("ix_camera_leases_owner", "owner", "lease_until"),)

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), doc="worker_nodes.id of the node running it (None: free)")
    lease_until: Mapped[float] = mapped_column(Float, default=0.0, doc="The owner must renew before this or lose it")
    epoch: Mapped[int] = mapped_column(Integer, default=0, doc="Bumped at every change of owner (a fencing token)")
    cost: Mapped[float] = mapped_column(Float, default=1.0, doc="Stream-cost units, as last measured by its owner")
    acquired_at: Mapped[float | None] = mapped_column(Float)
    moves: Mapped[int] = mapped_column(Integer, default=0, doc="Changes of owner so far")
    wanted_by: Mapped[str | None] = mapped_column(String(64), doc="A less loaded node asking the owner to hand it over")
