"""Camera leases on the worker side: register the node, heartbeat, take cameras up to capacity,
renew, hand over, and stop a camera the moment its lease can no longer be trusted.

Two threads: `beat` talks to the database once per heartbeat (renew, take free cameras, answer
and make hand-over requests); `watch` needs no database and drops every camera whose lease may
have run out: a renewal counts from the moment it was *sent*, less a guard, so a node cut off from
the database (connection hung or refused, process frozen) stops its cameras before the database
can give them to another node. Two owners never write.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from streetwarden.pipeline.balance import Load, fair_share, free_limit, pulls, worth_moving
from streetwarden.store.db import Database
from streetwarden.store.workers import service as leases
from streetwarden.config import Settings
from streetwarden.logs import event
from streetwarden.redact import mask_all

log = logging.getLogger("streetwarden.leases")
NODE_ID_ENV = "STREETWARDEN_NODE_ID"
CAPACITY_ENV = "STREETWARDEN_CAPACITY"
PIXELS_720P = 1280 * 720


def node_version() -> str:
    try:
        from importlib.metadata import version

        return version("streetwarden")
    except Exception:  # a source checkout that was never installed
        return "dev"


def default_capacity(settings: Settings) -> float:
    env = os.environ.get(CAPACITY_ENV)
    if env:
        try:
            value = float(env)
        except ValueError:
            value = 0.0
        if value <= 0:
            from streetwarden.config import ConfigError

            raise ConfigError(f"${CAPACITY_ENV}={env!r}: give a positive number of stream-cost units")
        return value
    return settings.cluster.capacity or 4.0 * (os.cpu_count() or 1)


def estimated_cost(analysis_fps: float, explicit: float | None, pixels: int | None) -> float:
    """Stream-cost units: 1 = one 720p frame analysed per second (4K at 2 fps = 18, 720p at 0.5 fps = 0.5)."""
    if explicit:
        return explicit
    return round(analysis_fps * max(0.25, (pixels or PIXELS_720P) / PIXELS_720P), 3)


def _engine_for(db: Database, lease_seconds: float):  # type: ignore[no-untyped-def]
    """A connection pool of its own with short network timeouts, so heartbeats never queue behind the
    worker's writes and a dead network fails a call instead of hanging it."""
    if not db.url.startswith("postgresql"):
        return db.engine
    ms = int(lease_seconds * 1000)
    return create_engine(db.url, pool_pre_ping=True, pool_size=2, connect_args={
        "connect_timeout": max(2, int(lease_seconds / 2)), "options": f"-c statement_timeout={ms // 2}",
        "keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2,
        "tcp_user_timeout": ms // 2})


class LeaseKeeper:
    """This node's hold on cameras. `cameras(session)` says which cameras it can run and their
    estimated cost; `on_lost(ids)` must stop those cameras before it returns; `on_change()` is
    called when cameras were added."""

    def __init__(self, db: Database, settings: Settings, cameras: Callable[[Session], dict[str, float]],
                 node_id: str | None = None, capacity: float | None = None) -> None:
        self.cfg = settings.cluster
        self.lease = self.cfg.lease_seconds
        self.every = self.cfg.heartbeat
        self.guard = max(1.0, self.lease * 0.25)
        host = socket.gethostname()
        self.node = leases.NodeInfo(id=(node_id or os.environ.get(NODE_ID_ENV) or f"{host}-{os.getpid()}")[:64],
                                    host=host, pid=os.getpid(), version=node_version(),
                                    capacity=capacity or default_capacity(settings))
        self.sessions = sessionmaker(_engine_for(db, self.lease), expire_on_commit=False)
        self.cameras = cameras
        self.on_lost: Callable[[list[str]], None] = lambda ids: None
        self.on_change: Callable[[], None] = lambda: None
        self.report: Callable[[], float | None] = lambda: None  # worst lag of the node's cameras
        self.measured: dict[str, float] = {}  # camera -> measured cost, filled by the worker
        self._lock = threading.Lock()
        self._deadline: dict[str, float] = {}  # camera -> monotonic time its lease may run out
        self._costs: dict[str, float] = {}
        self._recorded: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ensured: set[str] = set()  # cameras known to have a lease row
        self._free_seen: set[str] = set()  # cameras seen free last round and not taken here
        self.rounds = 0
        self.failures = 0
        self.last_ok: float | None = None  # monotonic time of the last successful round

    # ------------------------------------------------------------------ what the worker asks
    def holds(self, camera_id: str) -> bool:
        with self._lock:
            until = self._deadline.get(camera_id)
        return until is not None and time.monotonic() < until

    def owned(self) -> set[str]:
        at = time.monotonic()
        with self._lock:
            return {c for c, d in self._deadline.items() if at < d}

    def load(self) -> float:
        with self._lock:
            return round(sum(self._costs.get(c, 1.0) for c in self._deadline), 3)

    def healthy(self) -> bool:
        """Ready: the last heartbeat succeeded within a lease time."""
        return self.last_ok is not None and time.monotonic() - self.last_ok < self.lease

    # ------------------------------------------------------------------ one heartbeat
    def round(self) -> None:
        sent = time.monotonic()
        me = self.node.id
        added: list[str] = []
        if self.rounds == 0 and not self._join():
            return  # others are starting too: take a share next round, when every one of them is counted
        with self.sessions() as s:
            # the heartbeat first, in a transaction of its own: whatever the round waits on later,
            # the others keep counting this node as alive
            at = leases.db_now(s)
            if not leases.beat(s, me, at, self.lease, self.load(), len(self._deadline), self.report()):
                leases.register(s, self.node, at, self.lease)
            s.commit()
            wanted = self.cameras(s)
            if set(wanted) != self._ensured and leases.ensure_leases(s, wanted):  # new cameras get a row
                s.commit()
                self._ensured = set(wanted)
            renew_sent = time.monotonic()
            at = leases.db_now(s)
            held = leases.renew(s, me, at, self.lease)
            s.commit()
            # the renewal holds from now, whatever the rest of the round waits on (balancing, requests, a
            # slow link or a starved CPU): a long round must not let the node's own leases lapse under it
            self._extend(held, renew_sent)
            since = {c: renew_sent for c in held}  # camera -> when its lease was last extended (monotonic)
            at = leases.db_now(s)
            before = self.owned()
            added.extend(c for c in sorted(held) if c not in before and c in wanted)  # handed to this node
            self._drop([c for c in self.owned() if c not in held], "lease lost to another node")
            foreign = [c for c in held if c not in wanted]  # disabled, or not in this node's configuration
            if foreign:
                self._drop(foreign, "camera not runnable here")
                leases.hand_over(s, me, foreign, at, self.lease)
                for c in foreign:
                    held.pop(c)
            nodes = {n.id: Load(n.id, n.capacity, n.load) for n in leases.live_nodes(s, at)}
            mine = Load(me, self.node.capacity, sum(held.values()))
            nodes[me] = mine
            self._answer_requests(s, at, held, mine, nodes)
            total, count = leases.total_cost(s)
            share = fair_share(total, self.node.capacity, sum(n.capacity for n in nodes.values()))
            free_now = set(leases.free_ids(s, at))
            # free for a whole round while every node had its turn: the others are full, take up to capacity
            limit = free_limit(self.node.capacity, share, starved=bool(free_now & self._free_seen))
            room = limit - mine.load
            free = []
            if room > 0 and free_now & set(wanted):
                # lock no more rows than this node can take, so nodes taking at once do not starve each other
                want = int(room / (total / count if count else 1.0)) + 1
                free = leases.free_cameras(s, at, sorted(free_now & set(wanted)), limit=want)
            for cam, cost in free:
                if mine.load >= limit or mine.load + cost > self.node.capacity:
                    continue  # left for the others this round; taken next round if still free
                since[cam] = time.monotonic()
                if leases.take(s, me, cam, leases.db_now(s), self.lease):
                    held[cam] = cost
                    mine.load += cost
                    added.append(cam)
            self._free_seen = free_now - set(added)
            if not free_now and not leases.asked_by(s, me):  # one round of requests at a time
                others = [n for n in nodes.values() if n.id != me]
                for cam, owner in pulls(mine, others, leases.held_by(s, [n.id for n in others], at), limit=64):
                    if leases.ask_for(s, me, cam, owner):
                        event(log, "lease_requested", camera=cam, owner=owner, node=me)
            costs = {c: v for c, v in self.measured.items() if c in held and abs(v - held[c]) > 0.1 * held[c]}
            if costs:
                leases.set_costs(s, me, costs)
                held.update(costs)
            s.commit()
        # each lease counts from when its renewal or take was sent: the database's lease ends no earlier
        with self._lock:
            self._costs = dict(held)
            for c in held:
                self._deadline[c] = max(self._deadline.get(c, 0.0), since.get(c, sent) + self.lease - self.guard)
        for cam in added:
            event(log, "lease_taken", camera=cam, node=me, at=round(time.time(), 3))
        self.rounds += 1
        self.last_ok = time.monotonic()
        if added:
            self.on_change()

    def _extend(self, held: dict[str, float], sent: float) -> None:
        """Move the local deadline of cameras this node runs and just renewed (sent: when the renewal
        left); cameras new to the node start at the end of the round, once they are accounted for."""
        deadline = sent + self.lease - self.guard
        with self._lock:
            for c in held:
                if c in self._deadline:
                    self._deadline[c] = max(self._deadline[c], deadline)

    def _join(self) -> bool:
        """First round: register and commit only, so nodes starting together all count each other
        before any takes a share (else the first would take up to its capacity and the balancer would
        move cameras needlessly). True on SQLite: one node by definition, it takes cameras at once."""
        with self.sessions() as s:
            leases.register(s, self.node, leases.db_now(s), self.lease)
            s.commit()
            single = s.get_bind().dialect.name == "sqlite"
        self.rounds = 1
        self.last_ok = time.monotonic()
        return single

    def _answer_requests(self, s: Session, at: float, held: dict[str, float], mine: Load, nodes: dict[str, Load]) -> None:
        """Hand cameras to less loaded nodes that asked, while it still evens out the load; the
        camera is stopped here first, then given: it always has exactly one owner."""
        give: dict[str, list[str]] = {}
        refused = []
        for cam, requester, cost in leases.requests_for(s, self.node.id):
            other = nodes.get(requester)
            if cam in held and other is not None and worth_moving(mine, other, cost):
                give.setdefault(requester, []).append(cam)
                mine.load -= cost
                other.load += cost
            else:
                refused.append(cam)
        leases.refuse(s, self.node.id, refused)
        for requester, cams in give.items():
            self._drop(cams, f"handed over to {requester}")
            leases.hand_over(s, self.node.id, cams, at, self.lease, to=requester)
            for c in cams:
                held.pop(c, None)

    def _drop(self, cameras: list[str], reason: str) -> None:
        if not cameras:
            return
        with self._lock:
            for c in cameras:
                self._deadline.pop(c, None)
        self.on_lost(cameras)
        for c in cameras:
            event(log, "lease_released", camera=c, node=self.node.id, reason=reason, at=round(time.time(), 3))

    # ------------------------------------------------------------------ threads
    def start(self) -> "LeaseKeeper":
        if self._threads:
            return self
        for name, fn in (("lease-beat", self._beat), ("lease-watch", self._watch)):
            t = threading.Thread(target=fn, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _beat(self) -> None:
        # on a fixed cadence (a round's own time is not added to the wait), so a slow round is not
        # followed by a full interval more before the next renewal
        due = time.monotonic()
        while True:
            due = max(due + self.every, time.monotonic() + 0.05)
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                self.round()
            except Exception as err:  # the database is away: keep trying; `watch` stops the cameras in time
                self.failures += 1
                event(log, "heartbeat_failed", logging.WARNING, node=self.node.id, cameras=len(self._deadline),
                      error=mask_all(f"{type(err).__name__}: {err}")[:300])

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            at = time.monotonic()
            with self._lock:
                late = [c for c, d in self._deadline.items() if at >= d]
            self._drop(late, "lease not renewed in time (database unreachable?)")

    def stop(self, hand_over: bool = True) -> int:
        """Stop heartbeats; with hand_over, free every lease now so others take over at once (the
        caller has stopped its cameras). Returns how many leases were freed."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.lease)
        with self._lock:
            cams = sorted(self._deadline)
            self._deadline.clear()
        if not hand_over:
            return 0
        try:
            with self.sessions() as s:
                freed = leases.leave(s, self.node.id, leases.db_now(s))
                s.commit()
        except Exception as err:
            event(log, "handover_failed", logging.WARNING, node=self.node.id, cameras=len(cams),
                  error=mask_all(str(err))[:300])
            return 0
        event(log, "leases_handed_over", node=self.node.id, cameras=freed, at=round(time.time(), 3))
        return freed
