"""The worker on live RTSP cameras served by a real gst-rtsp-server: the parked van is raised as
from the file, a server killed mid-stream is reconnected without a duplicate, bad cameras are
explained and retried without disturbing the others, passwords never leak, health and metrics
are served, and camera changes in the database reach the running worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from streetwarden.api.health_routes import build_health_router
from streetwarden.models.detections import box_iou
from streetwarden.pipeline.background import BackgroundWorker
from streetwarden.pipeline.worker import Worker
from streetwarden.store.camera_settings import put_camera_settings
from streetwarden.store.cameras import zone_row
from streetwarden.store.db import Database
from streetwarden.store.schema import Camera, Candidate, Evidence
from streetwarden.config import CameraConfig, ZoneConfig, parse_settings
from tests.rtsp_server import BlackHoleServer, RtspServer
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Str33t-Secr3t"
WRONG = "Wr0ng-Guess9"
VAN_ZONE = {"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 10,
            "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}


def live_cam(cam_id: str, source: str, **extra: object) -> dict:
    return {"id": cam_id, "source": source, "analysis_fps": 1, "timeout_seconds": 3, "reconnect_max_seconds": 2,
            "zones": [VAN_ZONE], **extra}


def settings_for(tmp_path: Path, cameras: list[dict]):  # type: ignore[no-untyped-def]
    data = {"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}}, "cameras": cameras}
    return data, parse_settings(data, base_dir=tmp_path)


class LogReader:
    """Reads a subprocess's JSON log lines as they come."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        self.events: list[dict] = []
        self._t = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._t.start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for raw in iter(stream.readline, ""):
            self.lines.append(raw)
            if raw.startswith("{"):
                try:
                    self.events.append(json.loads(raw))
                except json.JSONDecodeError:
                    pass

    def find(self, name: str, since: int = 0, **fields: object) -> list[dict]:
        return [e for e in self.events[since:] if e.get("event") == name and all(e.get(k) == v for k, v in fields.items())]


def file_van_candidate(tmp_path: Path, vtest_path: Path) -> Candidate:
    """What the file source raises for the same zone and rate."""
    _, settings = settings_for(tmp_path / "file", [{"id": "file", "source": str(vtest_path), "analysis_fps": 1, "zones": [VAN_ZONE]}])
    db = Database(settings.database_url)
    db.upgrade()
    Worker(settings, db, once=True).run()
    with db.session() as s:
        rows = s.scalars(select(Candidate)).all()
    assert len(rows) == 1
    return rows[0]


# ---------------------------------------------------------------------------------------------
def test_cli_live_cameras_van_restart_and_bad_cameras(tmp_path: Path, rtsp_media, vtest_path: Path) -> None:
    """`streetwarden run` on four cameras: one good, three broken in different ways."""
    reference = file_van_candidate(tmp_path, vtest_path)
    server = RtspServer({"/main": rtsp_media["main"]}, user="viewer", password=PASSWORD).start()
    hole = BlackHoleServer()
    cameras = [
        live_cam("good", server.url("/main", "viewer", PASSWORD)),
        live_cam("badpw", server.url("/main", "viewer"), password_env="SW_TEST_BADPW"),
        live_cam("badpath", server.url("/nope", "viewer", PASSWORD)),
        live_cam("hole", hole.url(auth=f"viewer:{PASSWORD}@")),
    ]
    data, settings = settings_for(tmp_path, cameras)
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SW_TEST_BADPW": WRONG}
    proc = subprocess.Popen([sys.executable, "-m", "streetwarden", "run", "--config", str(config)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = LogReader(proc.stdout)
    try:
        # 1. frames flow and the parked van is raised (dwell 10 s)
        assert wait_for(lambda: log.find("candidate_opened", camera="good"), 60), "".join(log.lines[-30:])
        # 2. the bad cameras are explained, and the worker keeps running
        health = lambda cam: [e for e in log.find("camera_health", camera=cam)]  # noqa: E731
        assert wait_for(lambda: any("authentication failed" in (e["reason"] or "") and e["state"] == "error" for e in health("badpw")), 20)
        assert wait_for(lambda: any("stream not found" in (e["reason"] or "") and e["state"] == "error" for e in health("badpath")), 20)
        assert wait_for(lambda: any("no answer" in (e["reason"] or "") and e["state"] == "offline" for e in health("hole")), 20)
        # 3. the server dies mid-stream: reconnecting, then online within 10 s of its restart
        mark = len(log.events)
        server.kill()
        assert wait_for(lambda: log.find("camera_health", mark, camera="good", state="reconnecting"), 15)
        time.sleep(3)
        assert proc.poll() is None
        mark = len(log.events)
        server.start()
        # back by itself (reconnect back-off capped at reconnect_max_seconds; not a timing test)
        assert wait_for(lambda: log.find("camera_health", mark, camera="good", state="online"), 60), "not back online"
        # 4. the van is seen again: updates of the same candidate, never a second one
        assert wait_for(lambda: log.find("candidate_update", mark, camera="good"), 40)
        assert proc.poll() is None, "the worker process exited"
        assert hole.accepted >= 2  # the silent camera was retried
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            server.kill()
            hole.close()
    assert proc.returncode == 0
    output = "".join(log.lines)
    assert PASSWORD not in output and WRONG not in output
    assert len(log.find("candidate_opened")) == 1
    db = Database(settings.database_url)
    with db.session() as s:
        rows = s.scalars(select(Candidate)).all()
        assert [(r.camera_id, r.zone_id, r.violation, r.live) for r in rows] == [("good", "walk-1", "sidewalk_parking", True)]
        live = rows[0]
        assert abs(live.first_seen - time.time()) < 600  # Unix time
        assert live.label == reference.label
        iou = float(box_iou(np.array([live.box], np.float32), np.array([reference.box], np.float32))[0, 0])
        assert iou > 0.6, (live.box, reference.box)
        cams = {c.id: c.source_masked for c in s.scalars(select(Camera)).all()}
    assert all(PASSWORD not in v for v in cams.values())


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(rtsp_media):  # type: ignore[no-untyped-def]
    with RtspServer({"/main": rtsp_media["main"], "/sub": rtsp_media["sub"]}, user="viewer", password=PASSWORD) as srv:
        yield srv


def start_worker(settings):  # type: ignore[no-untyped-def]
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db, reload_seconds=1.0)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread, db


def health_of(worker: Worker, cam_id: str) -> dict | None:
    return next((h for h in worker.health.snapshot() if h["camera_id"] == cam_id), None)


def test_health_rates_over_the_window() -> None:
    """The fps arithmetic the health API shows, on a clock the test sets (the live test below only
    asks that frames flow: how fast a busy machine reads them is not a property of the code)."""
    from streetwarden.camera_adapters.base import SourceHealth
    from streetwarden.pipeline.health import CameraHealth

    rec = CameraHealth("cam", SourceHealth())
    assert rec.rates() == (0.0, 0.0)
    for t in range(31):  # a 10 fps stream, one frame a second analysed, sampled once a second
        rec.health.frames_in, rec.health.frames_processed = 10 * t, t
        rec.sample(1000.0 + t, window=10.0)
    assert rec.rates() == pytest.approx((10.0, 1.0))
    assert 10.0 <= rec.samples[-1][0] - rec.samples[0][0] <= 11.0  # over the window, not the whole history
    rec.health.frames_in = 10 * 30  # the stream stalls for 20 s: the rate falls to 0 with the window
    for t in range(31, 51):
        rec.sample(1000.0 + t, window=10.0)
    assert rec.rates()[0] == pytest.approx(0.0)


def test_health_api_and_metrics(tmp_path: Path, server: RtspServer) -> None:
    hole = BlackHoleServer()
    _, settings = settings_for(tmp_path, [
        live_cam("good", server.url("/sub", "viewer", PASSWORD)),
        live_cam("badpw", server.url("/sub", "viewer", WRONG)),
        live_cam("hole", hole.url(auth=f"viewer:{PASSWORD}@")),
        live_cam("noenv", server.url("/sub"), username="viewer", password_env="SW_TEST_UNSET_PASSWORD"),
    ])
    os.environ.pop("SW_TEST_UNSET_PASSWORD", None)
    db = Database(settings.database_url)
    db.upgrade()
    background = BackgroundWorker(settings, db, reload_seconds=1.0).start()  # as `streetwarden serve` runs it
    thread = background.thread
    app = FastAPI()
    app.include_router(build_health_router(background.get_worker))
    client = TestClient(app)
    try:
        def ready() -> list | None:
            rows = {h["camera_id"]: h for h in client.get("/api/v1/cameras/health").json()}
            ok = (rows["good"]["state"] == "online" and rows["good"]["analysed_fps"] > 0 and rows["badpw"]["state"] == "error"
                  and rows["hole"]["state"] == "offline" and rows["hole"]["reconnects"] >= 1 and rows["noenv"]["state"] == "error")
            return rows if ok else None
        rows = wait_for(ready, 30)
        assert rows, client.get("/api/v1/cameras/health").json()
        good = rows["good"]
        assert good["input_fps"] > 0  # frames flow; the rate arithmetic is test_health_rates_over_the_window's
        assert good["lag_seconds"] is not None and good["lag_seconds"] >= 0
        assert good["keyframe_only"] is True and good["transport"] == "tcp"
        assert "authentication failed" in rows["badpw"]["reason"]
        assert "SW_TEST_UNSET_PASSWORD" in rows["noenv"]["reason"] and "password_env" in rows["noenv"]["reason"]
        assert rows["badpw"]["reconnects"] >= 1 and rows["hole"]["reconnects"] >= 1
        body = client.get("/api/v1/cameras/health").text
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'streetwarden_camera_up{camera="good"} 1.0' in text
        assert 'streetwarden_camera_up{camera="badpw"} 0.0' in text
        assert 'streetwarden_camera_state{camera="badpw",state="error"} 1.0' in text
        assert 'streetwarden_camera_reconnects_total{camera="hole"}' in text
        assert "streetwarden_camera_analysed_fps{camera=\"good\"}" in text
        for out in (body, text):
            assert PASSWORD not in out and WRONG not in out
        # backoff: a few attempts, not one per second
        time.sleep(4)
        rows = {h["camera_id"]: h for h in client.get("/api/v1/cameras/health").json()}
        assert rows["badpw"]["reconnects"] <= 15
        assert rows["good"]["state"] == "online" and rows["good"]["reconnects"] == 0
        assert thread.is_alive()
    finally:
        background.stop()
        hole.close()
    assert not thread.is_alive() and background.error is None


def test_camera_changes_in_database_reach_the_running_worker(tmp_path: Path, server: RtspServer) -> None:
    _, settings = settings_for(tmp_path, [live_cam("a", server.url("/sub", "viewer", PASSWORD))])
    worker, thread, db = start_worker(settings)
    try:
        assert wait_for(lambda: (health_of(worker, "a") or {}).get("state") == "online", 20)
        # disabled in the UI: the worker stops it
        with db.session() as s:
            s.get(Camera, "a").enabled = False
        assert wait_for(lambda: health_of(worker, "a") is None and not worker.runners, 10)
        # a camera added through the API (password from the environment): the worker starts it
        os.environ["SW_TEST_CAM_B"] = PASSWORD
        cam_b = CameraConfig(id="b", source=server.url("/sub", "viewer"), password_env="SW_TEST_CAM_B", analysis_fps=1)
        with db.session() as s:
            s.add(Camera(id="b", name="added", source_masked=cam_b.source, analysis_fps=1, enabled=True, zones_version=1))
            s.flush()
            put_camera_settings(s, cam_b, origin="api")
        assert wait_for(lambda: (health_of(worker, "b") or {}).get("state") == "online", 20)
        # a zone drawn in the UI: swapped into the running engine
        with db.session() as s:
            s.add(zone_row("b", ZoneConfig(**VAN_ZONE)))
            s.get(Camera, "b").zones_version = 2
        assert wait_for(lambda: [z.config.id for r in worker.runners if r.cam.id == "b" for z in r.engine.zones] == ["walk-1"], 10)
        # its rate changed in the database: reopened with the new rate
        with db.session() as s:
            s.get(Camera, "b").analysis_fps = 0.5
        assert wait_for(lambda: any(r.cam.id == "b" and r.cam.analysis_fps == 0.5 for r in worker.runners), 10)
        assert wait_for(lambda: (health_of(worker, "b") or {}).get("state") == "online", 20)
        assert thread.is_alive()
    finally:
        worker.stop()
        thread.join(20)


def test_substream_analysed_main_stream_kept_as_evidence(tmp_path: Path, server: RtspServer) -> None:
    zone = {**VAN_ZONE, "dwell_seconds": 4}
    _, settings = settings_for(tmp_path, [{
        "id": "sub", "source": server.url("/sub", "viewer", PASSWORD), "evidence_source": server.url("/main", "viewer", PASSWORD),
        "analysis_fps": 1, "timeout_seconds": 5, "zones": [zone]}])
    worker, thread, db = start_worker(settings)
    try:
        def main_evidence():  # type: ignore[no-untyped-def]
            with db.session() as s:
                return s.scalars(select(Evidence).where(Evidence.kind == "main")).all()
        rows = wait_for(main_evidence, 60)
        assert rows, [h for h in worker.health.snapshot()]
    finally:
        worker.stop()
        thread.join(20)
    with db.session() as s:
        cand = s.scalars(select(Candidate)).one()
        kinds = {e.kind: e for e in cand.evidence}
    assert kinds["frame"].width == 384 and kinds["main"].width == 768 and kinds["main"].height == 576
    assert (settings.storage_path / kinds["main"].path).stat().st_size > 10_000
    assert cand.frame_width == 384
