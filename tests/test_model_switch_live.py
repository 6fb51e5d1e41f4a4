"""Promote and rollback switch a RUNNING `streetwarden worker` (a real subprocess on a live HTTP snapshot
camera) without a restart: its log says `model_switched` twice, each candidate records the model that
raised it (in the order of the switches), and the audit log holds both moves.

The camera shows a real vtest.avi frame; the test slides it sideways between switches (np.roll), so
the parked van stands in a new zone and raises a new candidate under each model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import yaml
from sqlalchemy import select

from streetwarden.config import load_settings
from streetwarden.store.db import Database
from streetwarden.store.schema import Candidate
from tests.conftest import REPO
from tests.enforcement_support import vtest_frame
from tests.registry_support import YOLOX, audit_moves, cli_env, model_file, ok
from tests.snapshot_server import SnapshotServer
from tests.waiting import wait_for

SHIFTS = {"a": 0, "b": 250, "c": 500}  # pixels the frame is slid left in each phase


def zone(zid: str, shift: int) -> dict:
    """The van's spot (bottom centre near x 688 of 768) slid left by `shift` pixels."""
    x = (688 - shift) / 768
    return {"id": zid, "kind": "sidewalk", "dwell_seconds": 2,
            "polygon": [[x - 0.06, 0.05], [x + 0.06, 0.05], [x + 0.06, 0.20], [x - 0.06, 0.20]]}


class SlidingCamera:
    """A live snapshot camera on localhost; `show(shift)` changes the picture it serves."""

    def __init__(self, frame: np.ndarray) -> None:
        self.frame = frame
        self.jpeg = b""
        self.show(0)
        self.server = SnapshotServer(lambda: self.jpeg)
        self.url = self.server.url

    def show(self, shift: int) -> None:
        self.jpeg = cv2.imencode(".jpg", np.roll(self.frame, -shift, axis=1))[1].tobytes()

    def close(self) -> None:
        self.server.close()


def log_events(path: Path, name: str) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == name:
                out.append(e)
    return out


def raised(db: Database) -> list[tuple[int, str, str]]:
    with db.session() as s:
        return [(c.id, c.zone_id, c.attributes.get("model")) for c in s.scalars(select(Candidate).order_by(Candidate.id))]


def test_promote_and_rollback_switch_a_running_worker(tmp_path, vtest_path):
    camera = SlidingCamera(vtest_frame(vtest_path))
    cfg = tmp_path / "sw.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp_path / 'sw.db'}", "storage": str(tmp_path / "data"),
        "models": {"default": {"path": model_file(YOLOX), "threads": 1}},
        "cluster": {"health_port": 0},
        "cameras": [{"id": "west-gate", "source": camera.url, "analysis_fps": 2,
                     "zones": [zone(z, s) for z, s in SHIFTS.items()]}]}), encoding="utf-8")
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "street")
    db = Database(load_settings(cfg).database_url)
    log = tmp_path / "worker.log"
    switch_twice(cfg, camera, db, log, ["promote", "street@1", "--actor", "ops", "--reason", "trial"],
                 ["rollback", "--actor", "ops", "--reason", "back"], lambda: log_events(log, "model_switched"))
    switched = log_events(log, "model_switched")
    assert [(e["camera"], e["previous"], e["model"]) for e in switched] == [
        ("west-gate", YOLOX, "street@1"), ("west-gate", "street@1", YOLOX)]
    assert len(log_events(log, "camera_started")) <= 1  # never restarted
    rows = raised(db)
    assert in_zone_models(rows, "a") == {YOLOX} and in_zone_models(rows, "b") == {"street@1"}
    assert in_zone_models(rows, "c") == {YOLOX}
    # by id (the order they were raised): the configured model, then street@1, then the configured one again
    models = [m for _, _, m in rows]
    phases = [m for i, m in enumerate(models) if i == 0 or models[i - 1] != m]
    assert phases == [YOLOX, "street@1", YOLOX], rows
    assert [(a, t, actor, d.get("reason")) for a, t, actor, d in audit_moves(db)][1:] == [
        ("model.promote", "street@1", "ops", "trial"), ("model.rollback", "street@1", "ops", "back")]


def switch_twice(cfg: Path, camera: SlidingCamera, db: Database, log: Path, promote: list[str], rollback: list[str],
                 switches: Callable[[], list]) -> None:
    """A `streetwarden worker` on the camera through three phases, one zone each: `models promote`, then
    `models rollback` (each waited for in the log by `switches()`), the frame slid after each switch;
    one process all along. Stops the worker and the camera."""
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "streetwarden", "worker", "--config", str(cfg)], cwd=REPO,
                                env=cli_env(), stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        def in_zone(z: str) -> list[str]:
            return [m for _, zid, m in raised(db) if zid == z]

        assert wait_for(lambda: in_zone("a"), 180, 0.5), log.read_text()[-3000:]
        for k, (args, shown) in enumerate(((promote, "b"), (rollback, "c")), 1):
            ok(cfg, "models", *args)
            assert wait_for(lambda: len(switches()) == k, 60, 0.5), log.read_text()[-3000:]
            camera.show(SHIFTS[shown])
            assert wait_for(lambda: in_zone(shown), 120, 0.5), (raised(db), log.read_text()[-3000:])
        assert proc.poll() is None  # the same process all along
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        camera.close()


def in_zone_models(rows: list[tuple[int, str, str]], z: str) -> set[str]:
    return {m for _, zid, m in rows if zid == z}
