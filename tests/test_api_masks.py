"""Camera masks through the API, against a real server and a real worker: who may edit them, the
bounds, the audit, a running worker applying them without a restart (a masked place on real footage
stops raising what it raised before, while the rest of the view still raises), and suggestions over a
burned-in clock that are only proposed, never stored."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from streetwarden.camera_adapters.video_file import VideoFileSource
from streetwarden.config import MAX_POLYGON_POINTS, MAX_ZONES_PER_CAMERA, parse_settings
from streetwarden.store.audit import AuditEntry
from streetwarden.store.db import Database
from streetwarden.store.schema import Candidate
from tests import scenes
from tests.review_support import worker_and_server
from tests.snapshot_server import SnapshotServer
from tests.waiting import wait_for

WHOLE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
BAG_W, BAG_H = 80, 64
P, Q = (120, 440), (250, 420)  # two places on the quiet lawn of vtest.avi (nobody walks there)
MASK_P = [[0.12, 0.72], [0.30, 0.72], [0.30, 0.92], [0.12, 0.92]]  # covers P, not Q
STEP = 0.5  # seconds of footage per snapshot request
BAG_A = (8.0, 22.0)  # scene seconds: a bag lies at P
HOLD = 26.0  # the footage waits here (the same frame) until the test has saved the mask
BAGS_B = 30.0  # from here on: a bag at P (masked by then) and one at Q


class Footage:
    """vtest.avi as an HTTP snapshot camera: every request gets the next 0.5 s of the real clip,
    with real garbage crops pasted in as the scene says; it holds at HOLD until released."""

    def __init__(self, vtest: Path) -> None:
        source = VideoFileSource("lawn", vtest, 1.0 / STEP)
        frames = [(f.ts, f.image) for f in source.frames()]
        source.close()
        bag = scenes.garbage_crop(BAG_W, BAG_H)
        self.jpegs = [cv2.imencode(".jpg", self._scene(ts, image, bag), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
                      for ts, image in frames]
        self.hold = next(i for i, (ts, _) in enumerate(frames) if ts >= HOLD - 1e-6)
        self.i = 0
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.server = SnapshotServer(self.next)
        self.url = self.server.url

    @staticmethod
    def _scene(ts: float, image: np.ndarray, bag: np.ndarray) -> np.ndarray:
        if BAG_A[0] <= ts < BAG_A[1] or ts >= BAGS_B:
            image = scenes.paste(image, bag, *P)[0]
        if ts >= BAGS_B:
            image = scenes.paste(image, bag, *Q)[0]
        return image

    def next(self) -> bytes:
        with self.lock:
            body = self.jpegs[self.i]
            if self.i < len(self.jpegs) - 1 and (self.i != self.hold or self.released.is_set()):
                self.i += 1
            return body

    @property
    def holding(self) -> bool:
        return self.i == self.hold and not self.released.is_set()

    def close(self) -> None:
        self.released.set()
        self.server.close()


@pytest.fixture(scope="module")
def clock_clip(tmp_path_factory, vtest_path: Path) -> Path:
    """vtest.avi with a burned-in date/time OSD, as a DVR draws it (70 s at 2 fps)."""
    path = tmp_path_factory.mktemp("clock") / "clock.avi"
    source = VideoFileSource("clock", vtest_path, 2.0)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 2, (768, 576))
    for n, f in enumerate(source.frames()):
        if n >= 140:
            break
        out.write(scenes.burn_clock(f.ts, f.image))
    out.release()
    source.close()
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory, vtest_path, clock_clip, shared):
    tmp = tmp_path_factory.mktemp("masks")
    footage = Footage(vtest_path)
    settings = parse_settings({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "storage"),
        "server": {"claim_seconds": 60, "undo_seconds": 0},
        "models": {"default": {"path": str(shared / "models" / "yolox_nano_coco_416.onnx"), "threads": 1}},
        "cameras": [
            {"id": "lawn", "name": "草坪", "source": footage.url, "analysis_fps": 2, "timeout_seconds": 20,
             "zones": [{"id": "lawn-all", "kind": "no_dumping", "dwell_seconds": 5, "polygon": WHOLE}]},
            {"id": "gate-osd", "name": "带时间叠加", "source": str(clock_clip), "analysis_fps": 2, "enabled": False,
             "zones": []},
        ],
    }, origin="test", base_dir=tmp)
    try:
        with worker_and_server(settings) as (server, db, worker):
            yield {"server": server, "db": db, "worker": worker, "footage": footage,
                   "sup": server.client("sup"), "adm": server.client("adm"), "rev": server.client("rev1")}
    finally:
        footage.close()


def square(x: float, y: float, size: float = 0.05) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


def fields(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["field"] for e in r.json().get("errors", [])]


def test_masks_are_read_by_reviewers_and_edited_by_supervisors_only(env):
    anon = env["server"].client()
    assert anon.get("/api/v1/cameras/gate-osd/masks").status_code == 401
    assert anon.put("/api/v1/cameras/gate-osd/masks", json={"masks": []}).status_code == 401
    got = env["rev"].get("/api/v1/cameras/gate-osd/masks")
    assert got.status_code == 200 and got.json()["masks"] == []
    denied = env["rev"].put("/api/v1/cameras/gate-osd/masks", json={"masks": [square(0.1, 0.1)]})
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert env["rev"].get("/api/v1/cameras/gate-osd/masks/suggestions").status_code == 403
    assert env["sup"].get("/api/v1/cameras/gate-osd/masks").json()["masks"] == [], "a refused edit changed nothing"
    missing = env["sup"].put("/api/v1/cameras/nope/masks", json={"masks": []})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize("masks, says", [
    ([[[0.1, 0.1], [0.2, 0.1]]], "3 to 100 points, got 2"),
    ([[[0.1, 0.1], [1.5, 0.1], [0.1, 0.2]]], "outside 0-1"),
    ([[[-0.01, 0.1], [0.5, 0.1], [0.1, 0.2]]], "outside 0-1"),
    ([[[i / 200, 0.1 + (i % 2) / 10] for i in range(MAX_POLYGON_POINTS + 1)]], "got 101"),
    ([square(0.0, 0.0, 0.01)] * (MAX_ZONES_PER_CAMERA + 1), "at most 100"),
    ([[[0.1, 0.1, 0.3], [0.2, 0.1], [0.1, 0.2]]], ""),
    ([[["a", 0.1], [0.2, 0.1], [0.1, 0.2]]], ""),
])
def test_bad_masks_are_refused_naming_the_field(env, masks, says):
    before = env["sup"].get("/api/v1/cameras/gate-osd").json()
    for path, body in (("masks", {"masks": masks}), ("zones", {"zones": [], "masks": masks})):
        r = env["sup"].put(f"/api/v1/cameras/gate-osd/{path}", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_request" and any(f.startswith("body.masks") for f in fields(r)), r.json()
        assert says in r.json()["detail"], r.json()
    after = env["sup"].get("/api/v1/cameras/gate-osd").json()
    assert after["zones_version"] == before["zones_version"] and after["masks"] == before["masks"]


def test_mask_edits_are_versioned_and_audited(env):
    sup, db = env["sup"], env["db"]
    start = sup.get("/api/v1/cameras/gate-osd/masks").json()
    first = [square(0.05, 0.02), [[0.6, 0.9], [0.95, 0.9], [0.95, 0.98]]]
    r = sup.put("/api/v1/cameras/gate-osd/masks", json={"masks": first, "expected_version": start["zones_version"]})
    assert r.status_code == 200, r.text
    assert r.json()["zones_version"] == start["zones_version"] + 1 and r.json()["masks"] == first
    stale = sup.put("/api/v1/cameras/gate-osd/masks", json={"masks": [], "expected_version": start["zones_version"]})
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    assert sup.get("/api/v1/cameras/gate-osd").json()["masks"] == first, "a stale save changed nothing"
    # the zone editor saves zones and masks in one change, one version
    zone = {"id": "kerb", "kind": "no_dumping", "polygon": [[0.1, 0.5], [0.4, 0.5], [0.4, 0.8]]}
    both = sup.put("/api/v1/cameras/gate-osd/zones", json={"zones": [zone], "masks": first[:1],
                                                           "expected_version": r.json()["zones_version"]})
    assert both.status_code == 200, both.text
    assert both.json()["zones_version"] == r.json()["zones_version"] + 1
    assert both.json()["masks"] == first[:1] and [z["id"] for z in both.json()["zones"]] == ["kerb"]
    kept = sup.put("/api/v1/cameras/gate-osd/zones", json={"zones": []})  # no `masks`: the masks are kept
    assert kept.status_code == 200 and kept.json()["masks"] == first[:1] and kept.json()["zones"] == []
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.target_id == "gate-osd").order_by(AuditEntry.id)).all()
        trail = [(a.action, a.actor, a.details) for a in rows]
    masks_rows = [d for action, actor, d in trail if action == "masks.replace" and actor == "sup"]
    assert len(masks_rows) == 1, trail
    assert masks_rows[0]["masks_before"] == start["masks"] and masks_rows[0]["masks_after"] == first
    zone_rows = [d for action, _, d in trail if action == "zones.replace"]
    assert zone_rows[-2]["masks_before"] == first and zone_rows[-2]["masks_after"] == first[:1]
    assert "masks_after" not in zone_rows[-1], "a save without masks records no mask change"
    sup.put("/api/v1/cameras/gate-osd/masks", json={"masks": []})


def candidates_at(db: Database, place: tuple[int, int]) -> list[Candidate]:
    box = [place[0], place[1], place[0] + BAG_W, place[1] + BAG_H]
    with db.session() as s:
        rows = s.scalars(select(Candidate).where(Candidate.camera_id == "lawn").order_by(Candidate.id)).all()
        s.expunge_all()
    return [c for c in rows if scenes.iou(c.box, box) >= 0.5]


def test_a_running_worker_applies_new_masks_without_a_restart(env):
    """A bag on the lawn raises; the bag is taken away, a mask is drawn over its place, and the same
    bag put back there raises nothing more, while a bag beside the mask raises as before."""
    db, worker, footage, sup = env["db"], env["worker"], env["footage"], env["sup"]
    raised = wait_for(lambda: candidates_at(db, P), timeout=240, step=0.5)
    assert len(raised) == 1 and raised[0].violation == "illegal_dumping", raised
    assert wait_for(lambda: footage.holding, timeout=240, step=0.2), "the footage reached its pause"
    runner = next(r for r in worker.runners if r.cam.id == "lawn")
    version = sup.get("/api/v1/cameras/lawn").json()["zones_version"]
    r = sup.put("/api/v1/cameras/lawn/masks", json={"masks": [MASK_P], "expected_version": version})
    assert r.status_code == 200, r.text
    assert wait_for(lambda: len(runner.engine.masks) == 1, timeout=60, step=0.2), "the worker loaded the mask"
    assert np.allclose(runner.engine.masks[0], MASK_P)
    assert np.allclose(runner.engine.left_behind.masks[0], MASK_P), "the left-behind engine got it too"
    with db.session() as s:
        before = s.get(Candidate, raised[0].id).last_seen
    footage.released.set()
    beside = wait_for(lambda: candidates_at(db, Q), timeout=240, step=0.5)
    assert len(beside) == 1, "the bag beside the mask raises"
    # the bag beside it is reported again later; by then the masked one would have updated its candidate
    assert wait_for(lambda: candidates_at(db, Q)[0].last_seen > beside[0].last_seen + 1.0, timeout=240, step=0.5)
    again = candidates_at(db, P)
    assert [c.id for c in again] == [raised[0].id] and again[0].last_seen == before, \
        "nothing inside the mask raised or updated a candidate"
    assert next(r for r in worker.runners if r.cam.id == "lawn") is runner, "the camera was not restarted"


def test_suggestions_propose_the_clock_and_store_nothing(env):
    sup = env["sup"]
    before = sup.get("/api/v1/cameras/gate-osd").json()
    r = sup.get("/api/v1/cameras/gate-osd/masks/suggestions", params={"seconds": 60}, timeout=300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["camera"] == "gate-osd" and body["source"] == "stream"
    assert 55.0 <= body["seconds"] <= 60.0 and body["frames"] >= 110, body
    assert len(body["masks"]) == 1, body
    (x1, y1), _, (x2, y2), _ = body["masks"][0]
    box = scenes.clock_seconds_box()  # where burn_clock draws its seconds (pixels of 768 x 576)
    assert x1 * 768 <= box[0] and box[2] <= x2 * 768 and y1 * 576 <= box[1] + 4 and box[3] - 4 <= y2 * 576, (body, box)
    assert (x2 - x1) < 0.5 and (y2 - y1) < 0.1, "a mask over the text line, not over the view"
    after = sup.get("/api/v1/cameras/gate-osd").json()
    assert after["masks"] == before["masks"] and after["zones_version"] == before["zones_version"], "only proposed"
    short = sup.get("/api/v1/cameras/gate-osd/masks/suggestions", params={"seconds": 5})
    assert short.status_code == 422 and fields(short) == ["query.seconds"]
    assert sup.get("/api/v1/cameras/nope/masks/suggestions").status_code == 404
    # a clip without an overlay: nothing proposed (the lawn's footage, read by the API while the worker runs it)
    plain = sup.get("/api/v1/cameras/lawn/masks/suggestions", params={"seconds": 40}, timeout=300)
    assert plain.status_code == 200 and plain.json()["masks"] == [], plain.text


def test_the_config_file_reimports_masks_only_when_they_change_there(tmp_path, vtest_path):
    """As with zones: masks drawn in the UI survive a restart with the same file; a file whose masks
    changed brings its own (and moves the version, so workers reload)."""
    from streetwarden.store.camera_settings import load_camera_configs, sync_camera_settings
    from streetwarden.store.cameras import load_masks, sync_cameras
    from streetwarden.store.schema import Camera

    def settings(masks):  # type: ignore[no-untyped-def]
        return parse_settings({"database": f"sqlite:///{tmp_path / 'sw.db'}", "storage": str(tmp_path / "s"),
                               "cameras": [{"id": "gate", "source": str(vtest_path), "masks": masks}]}, base_dir=tmp_path)

    file_a, drawn, file_b = [square(0.0, 0.0)], [square(0.5, 0.5)], [square(0.2, 0.0), square(0.7, 0.9)]
    db = Database(settings(file_a).database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings(file_a))
        assert load_masks(s, "gate") == [[tuple(p) for p in m] for m in file_a]
        cam = s.get(Camera, "gate")
        cam.masks, cam.zones_version = drawn, cam.zones_version + 1  # what the editor's save does
        v = cam.zones_version
    with db.session() as s:
        sync_cameras(s, settings(file_a))  # a restart with the same file
        sync_camera_settings(s, settings(file_a))
        assert load_masks(s, "gate") == [[tuple(p) for p in m] for m in drawn] and s.get(Camera, "gate").zones_version == v
        assert load_camera_configs(s, settings(file_a))["gate"].masks == [[tuple(p) for p in m] for m in drawn]
    with db.session() as s:
        sync_cameras(s, settings(file_b))  # the file's masks changed
        assert load_masks(s, "gate") == [[tuple(p) for p in m] for m in file_b] and s.get(Camera, "gate").zones_version == v + 1
