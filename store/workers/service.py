"""Lease statements: register and beat a node, renew, take, hand over and release camera leases.

The standard lease pattern, as the outbox uses it: a row is taken only by a conditional UPDATE
(``owner IS NULL OR lease_until < now``), and on PostgreSQL the candidates are read ``FOR UPDATE
SKIP LOCKED`` so nodes taking cameras at the same moment never wait on each other. Every time is
the database server's clock. Callers commit; each function is one or two short statements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from streetwarden.store.workers.models import CameraLease, WorkerNode


@dataclass(frozen=True)
class NodeInfo:
    id: str
    host: str
    pid: int
    version: str
    capacity: float


@dataclass(frozen=True)
class NodeLoad:
    """A live node as the balancer sees it."""

    id: str
    capacity: float
    load: float


def db_now(s: Session) -> float:
    """The database server's clock (Unix seconds); the local clock on SQLite (one machine)."""
    if s.get_bind().dialect.name == "postgresql":
        return float(s.execute(text("SELECT extract(epoch from clock_timestamp())")).scalar_one())
    return time.time()


def register(s: Session, node: NodeInfo, at: float, lease: float) -> None:
    """Add or refresh this node's row (a restarted pod keeps its id and row)."""
    row = s.get(WorkerNode, node.id)
    if row is None:
        row = WorkerNode(id=node.id, started_at=at)
        s.add(row)
    row.host, row.pid, row.version, row.capacity = node.host, node.pid, node.version, node.capacity
    row.status, row.started_at, row.heartbeat_at, row.expires_at = "running", at, at, at + lease
    row.load, row.cameras, row.lag_seconds = 0.0, 0, None
    s.flush()


def beat(s: Session, node_id: str, at: float, lease: float, load: float, cameras: int, lag: float | None) -> bool:
    """Heartbeat; False when the row is gone or stopped (the node must register again)."""
    res = s.execute(update(WorkerNode).where(WorkerNode.id == node_id, WorkerNode.status == "running")
                    .values(heartbeat_at=at, expires_at=at + lease, load=load, cameras=cameras, lag_seconds=lag))
    return res.rowcount == 1


def live_nodes(s: Session, at: float) -> list[NodeLoad]:
    """Nodes whose heartbeat is current, with the cost of the cameras they hold now."""
    held = (select(CameraLease.owner, func.sum(CameraLease.cost).label("load"))
            .where(CameraLease.owner.is_not(None), CameraLease.lease_until >= at).group_by(CameraLease.owner).subquery())
    rows = s.execute(select(WorkerNode.id, WorkerNode.capacity, func.coalesce(held.c.load, 0.0))
                     .outerjoin(held, held.c.owner == WorkerNode.id)
                     .where(WorkerNode.status == "running", WorkerNode.expires_at >= at).order_by(WorkerNode.id)).all()
    return [NodeLoad(r[0], float(r[1]), float(r[2])) for r in rows]


ENSURE_LOCK_KEY = 0x5357_4C45  # "SWLE": one node at a time adds lease rows for new cameras


def ensure_leases(s: Session, costs: dict[str, float]) -> bool:
    """A lease row for every camera to run (new cameras start free, at their estimated cost).
    False when another node is adding them right now (try again next round, nobody waits)."""
    have = set(s.scalars(select(CameraLease.camera_id)).all())
    missing = sorted(set(costs) - have)
    if not missing:
        return True
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        if not s.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ENSURE_LOCK_KEY}).scalar_one():
            return False
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    for i in range(0, len(missing), 500):
        chunk = missing[i:i + 500]
        s.execute(insert(CameraLease).values([{"camera_id": c, "owner": None, "lease_until": 0.0, "epoch": 0,
                                               "cost": costs[c], "moves": 0} for c in chunk])
                  .on_conflict_do_nothing(index_elements=["camera_id"]))
    return True


def renew(s: Session, node_id: str, at: float, lease: float) -> dict[str, float]:
    """Extend every current lease of the node, including cameras just handed to it: {camera: cost}."""
    rows = s.execute(update(CameraLease).where(CameraLease.owner == node_id, CameraLease.lease_until >= at)
                     .values(lease_until=at + lease).returning(CameraLease.camera_id, CameraLease.cost)).all()
    return {r[0]: float(r[1]) for r in rows}


def free_cameras(s: Session, at: float, among: list[str], limit: int) -> list[tuple[str, float]]:
    """Cameras nobody holds now (free, or their owner stopped renewing), locked rows skipped."""
    if not among or limit <= 0:
        return []
    q = (select(CameraLease.camera_id, CameraLease.cost)
         .where(CameraLease.camera_id.in_(among), or_(CameraLease.owner.is_(None), CameraLease.lease_until < at))
         .order_by(CameraLease.camera_id).limit(limit).with_for_update(skip_locked=True))
    return [(r[0], float(r[1])) for r in s.execute(q).all()]


def take(s: Session, node_id: str, camera_id: str, at: float, lease: float) -> bool:
    """Take one camera if it is still free (the conditional update is what makes it exclusive)."""
    res = s.execute(update(CameraLease)
                    .where(CameraLease.camera_id == camera_id, or_(CameraLease.owner.is_(None), CameraLease.lease_until < at))
                    .values(owner=node_id, lease_until=at + lease, epoch=CameraLease.epoch + 1, acquired_at=at,
                            moves=CameraLease.moves + 1, wanted_by=None))
    return res.rowcount == 1


def hand_over(s: Session, node_id: str, camera_ids: list[str], at: float, lease: float, to: str | None = None) -> int:
    """Give cameras the node has already stopped to node `to` (it adopts them at its next renewal)
    or free them; only leases the node still holds. Returns how many moved."""
    if not camera_ids:
        return 0
    values = {"owner": to, "lease_until": at + lease if to else 0.0, "epoch": CameraLease.epoch + 1, "wanted_by": None}
    if to:
        values.update(acquired_at=at, moves=CameraLease.moves + 1)
    res = s.execute(update(CameraLease).where(CameraLease.owner == node_id, CameraLease.camera_id.in_(camera_ids),
                                              CameraLease.lease_until >= at).values(**values))
    return res.rowcount


def leave(s: Session, node_id: str, at: float) -> int:
    """A stopping node: free its leases at once and mark it stopped. Returns the leases freed."""
    res = s.execute(update(CameraLease).where(CameraLease.owner == node_id)
                    .values(owner=None, lease_until=0.0, epoch=CameraLease.epoch + 1, wanted_by=None))
    s.execute(update(CameraLease).where(CameraLease.wanted_by == node_id).values(wanted_by=None))
    s.execute(update(WorkerNode).where(WorkerNode.id == node_id).values(status="stopped", expires_at=at, load=0.0, cameras=0))
    return res.rowcount


def ask_for(s: Session, node_id: str, camera_id: str, owner: str) -> bool:
    """Ask `owner` to hand a camera over at its next heartbeat (one request per camera at a time).
    Never waits on a lock (a row being renewed is skipped), so requests cannot deadlock renewals."""
    row = s.execute(select(CameraLease.camera_id).where(CameraLease.camera_id == camera_id, CameraLease.owner == owner,
                                                        CameraLease.wanted_by.is_(None))
                    .with_for_update(skip_locked=True)).first()
    if row is None:
        return False
    s.execute(update(CameraLease).where(CameraLease.camera_id == camera_id).values(wanted_by=node_id))
    return True


def asked_by(s: Session, node_id: str) -> int:
    """Hand-over requests of this node still unanswered."""
    return int(s.scalar(select(func.count()).select_from(CameraLease).where(CameraLease.wanted_by == node_id)) or 0)


def requests_for(s: Session, node_id: str) -> list[tuple[str, str, float]]:
    """(camera, requesting node, cost) of the node's cameras other nodes asked for."""
    rows = s.execute(select(CameraLease.camera_id, CameraLease.wanted_by, CameraLease.cost)
                     .where(CameraLease.owner == node_id, CameraLease.wanted_by.is_not(None))
                     .order_by(CameraLease.camera_id)).all()
    return [(r[0], r[1], float(r[2])) for r in rows]


def refuse(s: Session, node_id: str, camera_ids: list[str]) -> None:
    """Turn down hand-over requests that would no longer even out the load."""
    if camera_ids:
        s.execute(update(CameraLease).where(CameraLease.owner == node_id, CameraLease.camera_id.in_(camera_ids))
                  .values(wanted_by=None))


def held_by(s: Session, owner_ids: list[str], at: float) -> dict[str, list[tuple[str, float]]]:
    """Current leases of the given nodes: {node: [(camera, cost)]} (where to ask for cameras)."""
    out: dict[str, list[tuple[str, float]]] = {o: [] for o in owner_ids}
    if owner_ids:
        rows = s.execute(select(CameraLease.owner, CameraLease.camera_id, CameraLease.cost)
                         .where(CameraLease.owner.in_(owner_ids), CameraLease.lease_until >= at,
                                CameraLease.wanted_by.is_(None)).order_by(CameraLease.camera_id)).all()
        for owner, cam, cost in rows:
            out[owner].append((cam, float(cost)))
    return out


def total_cost(s: Session) -> tuple[float, int]:
    """(sum of the cost of every camera to run, how many there are)."""
    total, count = s.execute(select(func.coalesce(func.sum(CameraLease.cost), 0.0), func.count())
                             .select_from(CameraLease)).one()
    return float(total or 0.0), int(count or 0)


def free_ids(s: Session, at: float) -> list[str]:
    """Cameras nobody holds now (a plain read: nothing locked)."""
    return list(s.scalars(select(CameraLease.camera_id).where(or_(CameraLease.owner.is_(None), CameraLease.lease_until < at))).all())


def set_costs(s: Session, node_id: str, costs: dict[str, float]) -> None:
    """Record measured costs of cameras the node holds (the balancer uses them from then on)."""
    for camera_id, cost in costs.items():
        s.execute(update(CameraLease).where(CameraLease.camera_id == camera_id, CameraLease.owner == node_id).values(cost=cost))


def forget_cameras(s: Session, keep: list[str]) -> None:
    """Drop lease rows of cameras no longer run by anyone (disabled or removed)."""
    s.execute(delete(CameraLease).where(CameraLease.camera_id.not_in(keep)))


def owners(s: Session, at: float) -> dict[str, str]:
    """Current owner of each camera that has one."""
    rows = s.execute(select(CameraLease.camera_id, CameraLease.owner)
                     .where(CameraLease.owner.is_not(None), CameraLease.lease_until >= at)).all()
    return {r[0]: r[1] for r in rows}


def other_live_node(s: Session, node_id: str, at: float) -> WorkerNode | None:
    """Another node with a current heartbeat (SQLite refuses a second worker with it)."""
    return s.scalars(select(WorkerNode).where(WorkerNode.id != node_id, WorkerNode.status == "running",
                                              WorkerNode.expires_at >= at).order_by(WorkerNode.heartbeat_at.desc())).first()


def list_nodes(s: Session, at: float, since: float = 3600.0) -> list[WorkerNode]:
    """Nodes seen in the last `since` seconds, newest first (stopped ones too, for a while)."""
    return list(s.scalars(select(WorkerNode).where(WorkerNode.heartbeat_at >= at - since)
                          .order_by(WorkerNode.host, WorkerNode.id)).all())


def node_json(row: WorkerNode, at: float, cameras: list[str]) -> dict[str, object]:
    alive = row.status == "running" and row.expires_at >= at
    return {"id": row.id, "host": row.host, "pid": row.pid, "version": row.version, "state": "up" if alive else
            ("stopped" if row.status == "stopped" else "lost"), "capacity": row.capacity, "load": round(row.load, 3),
            "cameras": sorted(cameras), "camera_count": len(cameras),
            "lag_seconds": round(row.lag_seconds, 3) if row.lag_seconds is not None else None,
            "last_heartbeat_age_seconds": round(max(0.0, at - row.heartbeat_at), 3), "started_at": row.started_at,
            "last_heartbeat_at": row.heartbeat_at}


