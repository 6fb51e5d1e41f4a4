"""Lease churn of a big fleet on a real PostgreSQL: 2,000 simulated cameras over 20 simulated workers.

    python3 bench/bench_leases.py [--cameras 2000] [--workers 20] [--lease 15] [--database URL]

Each simulated worker is the real lease keeper of `streetwarden worker` (pipeline/leases.py: the
same statements, heartbeat and balancing), without cameras behind it; all run as threads of this
process, each with its own connection pool. Without --database a throw-away PostgreSQL server is
started (Debian's postgresql package, as the tests do). Phases:

1. start: 20 workers start together on 2,000 free cameras: time until every camera has an owner;
2. steady: heartbeats only, for --steady seconds: lease statements per second and their p50/p95;
3. kill: two workers stop dead (no hand-over): time until every orphaned camera has a new owner;
4. join: a fresh worker joins: time until it holds its share, and how many cameras moved.

Prints one JSON object (figures in docs/deploy.md come from it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import event, func, select, text  # noqa: E402

from streetwarden.config import parse_settings  # noqa: E402
from streetwarden.pipeline.leases import LeaseKeeper  # noqa: E402
from streetwarden.store.db import Database  # noqa: E402
from streetwarden.store.schema import Camera  # noqa: E402
from streetwarden.store.workers.models import CameraLease  # noqa: E402


class Timings:
    """Every statement of the lease keepers: (end time, seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[float, float]] = []

    def attach(self, engine) -> None:  # type: ignore[no-untyped-def]
        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
            conn.info["sw_t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            with self.lock:
                self.rows.append((t, t - conn.info.get("sw_t0", t)))

    def window(self, t0: float, t1: float) -> dict[str, float]:
        with self.lock:
            got = [d for t, d in self.rows if t0 <= t < t1]
        if not got:
            return {"statements": 0}
        got.sort()
        return {"statements": len(got), "qps": round(len(got) / (t1 - t0), 1),
                "p50_ms": round(statistics.median(got) * 1000, 2), "p95_ms": round(got[int(0.95 * (len(got) - 1))] * 1000, 2),
                "max_ms": round(got[-1] * 1000, 2)}


def owners(db: Database) -> dict[str, str | None]:
    with db.session() as s:
        at = float(s.execute(text("SELECT extract(epoch from clock_timestamp())")).scalar_one())
        rows = s.execute(select(CameraLease.camera_id, CameraLease.owner, CameraLease.lease_until)).all()
    return {c: (o if u >= at else None) for c, o, u in rows}


def moves(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.coalesce(func.sum(CameraLease.moves), 0))) or 0)


def wait(pred, timeout: float) -> float | None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return round(time.monotonic() - t0, 2)
        time.sleep(0.25)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=20)
    ap.add_argument("--lease", type=float, default=15.0, help="lease seconds (the default of `cluster.lease_seconds`)")
    ap.add_argument("--steady", type=float, default=30.0, help="seconds of heartbeats only")
    ap.add_argument("--database", help="PostgreSQL URL (default: a throw-away server)")
    args = ap.parse_args()
    from streetwarden.logs import setup_logging

    setup_logging("WARNING")  # thousands of lease_taken lines would measure the terminal
    server = None
    url = args.database
    if not url:
        from tests.postgres import PostgresServer

        server = PostgresServer()
        url = server.start()
    try:
        return run(args, url)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace, url: str) -> int:
    db = Database(url)
    db.upgrade()
    ids = [f"cam-{i:05d}" for i in range(args.cameras)]
    with db.session() as s:
        s.execute(CameraLease.__table__.delete())
        s.execute(Camera.__table__.delete())
        s.execute(Camera.__table__.insert(), [{"id": c, "name": c, "source_masked": "", "analysis_fps": 1.0, "enabled": True,
                                               "zones_version": 0, "updated_at": 0.0} for c in ids])
    costs = {c: 1.0 for c in ids}
    per_node = args.cameras / args.workers
    settings = parse_settings({"cluster": {"lease_seconds": args.lease, "capacity": per_node * 1.5}})
    timings = Timings()

    def keeper(name: str) -> LeaseKeeper:
        k = LeaseKeeper(db, settings, cameras=lambda s: costs, node_id=name)
        timings.attach(k.sessions.kw["bind"])
        return k

    out: dict[str, object] = {"cameras": args.cameras, "workers": args.workers, "lease_seconds": args.lease,
                              "heartbeat_seconds": settings.cluster.heartbeat, "capacity_per_worker": per_node * 1.5}
    fleet = {f"sim-{i:02d}": keeper(f"sim-{i:02d}") for i in range(args.workers)}
    t0 = time.perf_counter()
    for k in fleet.values():
        k.start()  # first round after one heartbeat, all at once
    def all_owned() -> bool:
        now = owners(db)
        return len(now) == args.cameras and all(now.values())

    out["start_all_owned_s"] = wait(all_owned, 120)
    t_start = time.perf_counter()
    out["start_statements"] = timings.window(t0, t_start)
    moves_before = moves(db)
    time.sleep(args.steady)
    t_steady = time.perf_counter()
    out["steady"] = timings.window(t_start, t_steady)
    out["steady_moves"] = moves(db) - moves_before
    loads: dict[str | None, int] = {}
    for c, o in owners(db).items():
        loads[o] = loads.get(o, 0) + 1
    out["steady_cameras_per_worker"] = {"min": min(loads.values()), "max": max(loads.values())}

    dead = sorted(fleet)[:2]
    orphans = {c for c, o in owners(db).items() if o in dead}
    t_kill = time.perf_counter()
    for name in dead:
        fleet.pop(name).stop(hand_over=False)  # stops dead: leases run out in the database
    out["kill_orphans"] = len(orphans)
    out["kill_all_reowned_s"] = wait(lambda: all(o is not None and o not in dead for c, o in owners(db).items()
                                                if c in orphans), 120)
    t_after_kill = time.perf_counter()
    out["kill_statements"] = timings.window(t_kill, t_after_kill)

    time.sleep(2 * settings.cluster.heartbeat)  # let the survivors settle before the join
    moves_before = moves(db)
    fleet["sim-new"] = keeper("sim-new")
    fleet["sim-new"].start()
    share = args.cameras // len(fleet)
    t_join = time.perf_counter()
    out["join_share_s"] = wait(lambda: sum(1 for o in owners(db).values() if o == "sim-new") >= share - 1, 120)
    time.sleep(3 * settings.cluster.heartbeat)
    out["join_statements"] = timings.window(t_join, time.perf_counter())
    got = sum(1 for o in owners(db).values() if o == "sim-new")
    out["join_taken"] = got
    out["join_moves"] = moves(db) - moves_before  # every move is one camera handed to the joiner if none is needless
    for k in fleet.values():
        k.stop(hand_over=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
