"""Many worker nodes on one real PostgreSQL, as real processes on looping file cameras: every camera
has exactly one owner and is analysed; a joining node takes its share without a gap; SIGTERM
hands over at once; kill -9 passes the cameras on after the lease time without a candidate raised
twice or a notice re-checked twice; a node cut off from the database stops its cameras before its
leases can pass to another node. One fleet walks through these steps in order (each test is a step)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.schema import Candidate
from streetwarden.store.workers.models import CameraLease
from tests.conftest import REPO, shared_path
from tests.postgres import _free_port
from tests.scenes import iou
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_for

CAMERAS = [f"cam-{i:02d}" for i in range(12)]
LEASE = 6.0  # seconds; heartbeat 1 s (so takeovers are quick and a missed beat is not a loss)
VAN = (651, 41, 725, 100)  # the parked van of vtest.avi, in the zone of every camera
WALK = [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]


class Node:
    """One `streetwarden worker` process, its log and its health endpoint."""

    def __init__(self, name: str, root: Path, database: str) -> None:
        self.name, self.port = name, _free_port()
        cfg = {
            "database": database, "storage": str(root / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1, "parallel_calls": 1}},
            "cluster": {"lease_seconds": LEASE, "heartbeat_seconds": 1.0, "capacity": 12, "health_port": self.port},
            "notices": {"grace_seconds": {"sidewalk_parking": 4.0}, "check_every_seconds": 0.5},
            "server": {"snapshot_seconds": 0},
            "cameras": [{"id": c, "source": f"loop://{shared_path('media', 'vtest.avi')}", "analysis_fps": 1,
                         "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 4, "polygon": WALK}]}
                        for c in CAMERAS],
        }
        config = root / f"{name}.yaml"
        config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        self.log_path = root / f"{name}.log"
        env = dict(os.environ, STREETWARDEN_NODE_ID=name)
        self.proc = subprocess.Popen([sys.executable, "-m", "streetwarden", "worker", "--config", str(config)], cwd=REPO,
                                     env=env, stdout=subprocess.DEVNULL, stderr=self.log_path.open("w"))

    def events(self, name: str) -> list[dict]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and f'"{name}"' in line:
                e = json.loads(line)
                if e.get("event") == name:
                    out.append(e)
        return out

    def ready(self) -> dict | None:
        """The node's own view (/readyz): which cameras it runs now; None while it cannot answer."""
        try:
            r = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def cameras(self) -> set[str]:
        body = self.ready()
        return set(body["cameras"]) if body else set()

    def analysed(self) -> dict[str, float]:
        text_ = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text
        return {m[0]: float(m[1]) for m in re.findall(r'streetwarden_camera_frames_analysed_total\{camera="([^"]+)"\} ([0-9.e+]+)', text_)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


class Fleet:
    def __init__(self, root: Path, url: str, proxy: TcpProxy) -> None:
        self.root, self.url, self.proxy = root, url, proxy
        self.engine = create_engine(url)
        self.nodes: dict[str, Node] = {}

    def start(self, name: str, via_proxy: bool = False) -> Node:
        url = self.url
        if via_proxy:
            url = re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{self.proxy.port}/", url)
        node = self.nodes[name] = Node(name, self.root, url)
        return node

    def alive(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.proc.poll() is None]

    def local_owners(self, nodes: list[Node] | None = None) -> dict[str, list[str]]:
        """camera -> the nodes that say they run it now."""
        out: dict[str, list[str]] = {c: [] for c in CAMERAS}
        for n in nodes or self.alive():
            for c in n.cameras():
                out[c].append(n.name)
        return out

    def leases(self) -> dict[str, tuple[str | None, float, int, float | None]]:
        """camera -> (owner with a current lease, lease_until, moves, acquired_at), from the database."""
        with Session(self.engine) as s:
            at = s.execute(text("SELECT extract(epoch from clock_timestamp())")).scalar_one()
            rows = s.execute(select(CameraLease.camera_id, CameraLease.owner, CameraLease.lease_until, CameraLease.moves,
                                    CameraLease.acquired_at)).all()
        return {r[0]: (r[1] if r[2] >= float(at) else None, r[2], r[3], r[4]) for r in rows}

    def candidates(self) -> list[Candidate]:
        with Session(self.engine) as s:
            return list(s.scalars(select(Candidate).order_by(Candidate.camera_id, Candidate.id)).all())

    def diagnose(self, cameras: set[str]) -> dict:
        """For a failed assertion: each camera's lease and candidate, and what the live nodes logged about it."""
        leases = self.leases()
        cands = {c.camera_id: (c.id, c.first_seen, c.last_seen, c.active) for c in self.candidates()}
        keep = ("camera_", "lease_", "candidate_", "events_dropped", "error", "failed")
        logs = {n.name: [line[:240] for line in n.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                         if any(cam in line for cam in cameras) and any(k in line for k in keep)][-30:]
                for n in self.alive()}
        return {"now": time.time(), "leases": {c: leases.get(c) for c in cameras},
                "candidates": {c: cands.get(c) for c in cameras}, "logs": logs}

    def settled(self, nodes: list[Node]) -> bool:
        owners = self.local_owners(nodes)
        return all(len(v) == 1 for v in owners.values())

    def steady(self, nodes: list[Node], per_node: int, quiet: float = 4.0, timeout: float = 120.0) -> bool:
        """Each node runs `per_node` cameras, one owner each, and no lease moved for `quiet` seconds."""
        end = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < end:
            try:
                moves = {cam: v[2] for cam, v in self.leases().items()}
            except ProgrammingError:  # the first node has not made the tables yet
                moves = None
            if moves != last:
                last, since = moves, time.monotonic()
            elif (time.monotonic() - since >= quiet and self.settled(nodes)
                  and all(len(n.cameras()) == per_node for n in nodes)):
                return True
            time.sleep(0.5)
        return False


@pytest.fixture(scope="module")
def fleet(postgres_url, tmp_path_factory):
    name = f"sw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    port = int(re.search(r"@127\.0\.0\.1:(\d+)/", url).group(1))
    proxy = TcpProxy("127.0.0.1", port)
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), url, proxy)
    yield fleet
    for n in fleet.nodes.values():
        n.stop()
    proxy.close()
    fleet.engine.dispose()


def single_worker_run(root: Path) -> list[tuple[str, list[float]]]:
    """What one worker alone raises on the same footage and zone (the clip played once as a file
    camera, on SQLite): (violation, box) of each candidate, the reference every camera must match."""
    cfg = {
        "database": f"sqlite:///{root / 'single.db'}", "storage": str(root / "single"),
        "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1, "parallel_calls": 1}},
        "cameras": [{"id": "single", "source": str(shared_path("media", "vtest.avi")), "analysis_fps": 1,
                     "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 4, "polygon": WALK}]}],
    }
    config = root / "single.yaml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "streetwarden", "run", "--once", "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = create_engine(cfg["database"])
    with Session(engine) as s:
        rows = [(c.violation, list(c.box)) for c in s.scalars(select(Candidate)).all()]
    engine.dispose()
    return rows


def same_as_single_worker(cands: list[Candidate], reference: list[tuple[str, list[float]]]) -> None:
    """Every camera raised what the single worker raised: the same violations at the same places, each once."""
    assert reference, "the single-worker run raised nothing: the reference is empty"
    for cam in CAMERAS:
        mine = [c for c in cands if c.camera_id == cam]
        assert len(mine) == len(reference), (cam, [(c.violation, c.box) for c in mine], reference)
        for violation, box in reference:
            assert sum(c.violation == violation and iou(c.box, box) >= 0.5 for c in mine) == 1, (cam, violation, box, mine)


def van_per_camera(cands: list[Candidate]) -> None:
    """What a single worker raises on these cameras: the parked van, once per camera, nothing else."""
    assert sorted(c.camera_id for c in cands) == CAMERAS, [(c.camera_id, c.id) for c in cands]
    for c in cands:
        assert c.violation == "sidewalk_parking" and iou(c.box, VAN) >= 0.7, (c.camera_id, c.box)


def test_1_three_workers_share_twelve_cameras_each_with_exactly_one_owner(fleet: Fleet) -> None:
    a, b = fleet.start("a"), fleet.start("b")
    c = fleet.start("c", via_proxy=True)  # reaches the database through a link the last step cuts
    nodes = [a, b, c]
    assert fleet.steady(nodes, 4), (fleet.local_owners(nodes), [n.log_path.read_text()[-1500:] for n in nodes])
    before = {n.name: n.analysed() for n in nodes}
    moves = {cam: v[2] for cam, v in fleet.leases().items()}
    for _ in range(60):  # sampled every second for a minute
        local = fleet.local_owners(nodes)
        db = fleet.leases()
        assert all(len(v) == 1 for v in local.values()), local
        assert all(db[cam][0] == local[cam][0] for cam in CAMERAS), (db, local)
        time.sleep(1.0)
    # the load was fair all along: nobody moved a camera
    assert {cam: v[2] for cam, v in fleet.leases().items()} == moves
    # every camera analysed by its owner during the minute
    after = {n.name: n.analysed() for n in nodes}
    owner = {cam: v[0] for cam, v in fleet.leases().items()}
    for cam in CAMERAS:
        assert after[owner[cam]].get(cam, 0) > before[owner[cam]].get(cam, 0), (cam, owner[cam], after)
    assert wait_for(lambda: len(fleet.candidates()) >= 12, 30, 0.5)
    van_per_camera(fleet.candidates())
    # and that is what one worker alone raises on the same footage: no duplicates, none missing
    same_as_single_worker(fleet.candidates(), single_worker_run(fleet.root))


def test_2_a_fourth_worker_joins_and_the_others_give_up_cameras_without_a_gap(fleet: Fleet) -> None:
    moves = {cam: v[2] for cam, v in fleet.leases().items()}
    d = fleet.start("d")
    nodes = list(fleet.nodes.values())
    end = time.monotonic() + 90
    while time.monotonic() < end:
        db = fleet.leases()
        assert all(db[cam][0] is not None for cam in CAMERAS), db  # every camera owned at every moment
        local = fleet.local_owners(nodes)
        assert all(len(v) <= 1 for v in local.values()), local  # never two nodes running one camera
        if len(d.cameras()) == 3 and all(len(n.cameras()) == 3 for n in nodes):
            break
        time.sleep(0.5)
    assert sorted(len(n.cameras()) for n in nodes) == [3, 3, 3, 3], fleet.local_owners(nodes)
    moved = [cam for cam, v in fleet.leases().items() if v[2] != moves[cam]]
    assert sorted(moved) == sorted(d.cameras())  # only the joiner's share moved
    assert wait_for(lambda: all(v > 0 for v in d.analysed().values()) and len(d.analysed()) == 3, 30, 0.5)
    van_per_camera(fleet.candidates())


def test_3_sigterm_hands_over_within_seconds_not_the_lease_time(fleet: Fleet) -> None:
    d = fleet.nodes["d"]
    mine = d.cameras()
    assert mine
    held = fleet.leases()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(60) == 0, d.log_path.read_text()[-2000:]
    assert d.events("leases_handed_over")[-1]["cameras"] == len(mine)
    others = [fleet.nodes[k] for k in ("a", "b", "c")]
    assert wait_for(lambda: fleet.settled(others), 30, 0.3), fleet.local_owners(others)
    after = fleet.leases()
    for cam in mine:
        assert after[cam][0] in ("a", "b", "c")
        # taken before the lease it had when SIGTERM arrived could have run out: it was handed over
        assert after[cam][3] < held[cam][1], (cam, after[cam], held[cam])
    van_per_camera(fleet.candidates())


def test_4_kill_9_others_take_over_after_the_lease_without_a_second_candidate_or_recheck(fleet: Fleet) -> None:
    from streetwarden.config import parse_settings
    from streetwarden.store.notices import issue_from_decision

    b = fleet.nodes["b"]
    victims = b.cameras()
    assert victims
    target = sorted(victims)[0]
    settings = parse_settings(yaml.safe_load((fleet.root / "b.yaml").read_text()), base_dir=fleet.root)
    with Session(fleet.engine) as s:  # a notice on one of its cameras falls due (4 s) during the handover
        cand = s.scalar(select(Candidate).where(Candidate.camera_id == target))
        notice = issue_from_decision(s, cand, "warn", "alice", settings)
        ref = notice.ref
        s.commit()
    b.proc.kill()
    b.proc.wait(30)
    killed_at = time.time()
    others = [fleet.nodes[k] for k in ("a", "c")]
    assert wait_for(lambda: fleet.settled(others), LEASE + 40, 0.3), fleet.local_owners(others)
    owners = fleet.local_owners(others)
    for cam in victims:
        node = fleet.nodes[owners[cam][0]]
        assert wait_for(lambda: node.analysed().get(cam, 0) > 0, 30, 0.5), cam  # analysed again

    def settled_notice():  # type: ignore[no-untyped-def]
        with Session(fleet.engine) as s:
            n = s.scalar(select(Notice).where(Notice.ref == ref))
            return n if n.status != "open" else None

    n = wait_for(settled_notice, 60, 0.5)
    assert n and n.status == "escalated", n and (n.status, n.recheck_note)
    with Session(fleet.engine) as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.notice_id == n.id)) == 1
    # the van is seen again by the new owners: the same candidates are updated (last seen after the
    # takeover), none raised twice (on a loaded machine a new owner may take a while: wait long)
    def resighted() -> bool:
        last = {c.camera_id: c.last_seen for c in fleet.candidates()}
        return all(last.get(cam, 0) > killed_at + LEASE for cam in victims)

    assert wait_for(resighted, 240, 0.5), fleet.diagnose(victims)
    van_per_camera(fleet.candidates())


def test_5_a_worker_cut_off_from_the_database_stops_its_cameras_before_they_pass_on(fleet: Fleet) -> None:
    c, a = fleet.nodes["c"], fleet.nodes["a"]
    mine = c.cameras()
    assert mine
    fleet.proxy.cut()
    assert wait_for(lambda: a.cameras() == set(CAMERAS), LEASE + 40, 0.3), a.cameras()
    stopped = {e["camera"]: e["at"] for e in c.events("lease_released")}
    taken = {e["camera"]: e["at"] for e in a.events("lease_taken")}
    for cam in mine:
        assert cam in stopped and stopped[cam] < taken[cam], (cam, stopped.get(cam), taken.get(cam))
    assert c.proc.poll() is None  # it lives on, cut off, running nothing
    assert c.cameras() == set()
    van_per_camera(fleet.candidates())


def test_6_the_api_shows_each_node_and_each_cameras_owner(fleet: Fleet) -> None:
    from streetwarden.config import parse_settings
    from streetwarden.store.db import Database
    from tests.review_support import LiveServer, add_users

    settings = parse_settings(yaml.safe_load((fleet.root / "a.yaml").read_text()), base_dir=fleet.root)
    db = Database(fleet.url)
    add_users(db)
    with LiveServer(settings, db) as server:
        assert server.client("rev1").get("/api/v1/workers").status_code == 403  # admins only
        assert server.client().get("/api/v1/workers").status_code == 401
        body = server.client("adm").get("/api/v1/workers").json()
        nodes = {w["id"]: w for w in body["workers"]}
        assert {k: v["state"] for k, v in nodes.items()} == {"a": "up", "b": "lost", "c": "lost", "d": "stopped"}
        assert nodes["a"]["cameras"] == CAMERAS and nodes["a"]["camera_count"] == 12 and nodes["a"]["load"] > 0
        assert nodes["a"]["last_heartbeat_age_seconds"] < LEASE and nodes["a"]["version"] and nodes["a"]["host"]
        assert all(nodes[k]["cameras"] == [] for k in ("b", "c", "d")) and body["unowned_cameras"] == []
        cams = server.client("rev1").get("/api/v1/cameras").json()
        assert {c["id"]: c["owner"] for c in cams} == {c: "a" for c in CAMERAS}
        assert server.client("rev1").get(f"/api/v1/cameras/{CAMERAS[0]}").json()["owner"] == "a"
    metrics = httpx.get(f"http://127.0.0.1:{fleet.nodes['a'].port}/metrics", timeout=5).text  # Prometheus, per node
    assert 'streetwarden_node_cameras{node="a"} 12.0' in metrics and 'streetwarden_node_ready{node="a"} 1.0' in metrics
    assert re.search(r'streetwarden_node_heartbeats_total\{node="a"\} [1-9]', metrics), metrics[-1500:]
