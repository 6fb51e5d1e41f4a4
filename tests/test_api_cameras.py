"""Cameras and the zone editor's API against a real server with a real worker running vtest.avi: zones
are validated like the config file, versioned, audited, and the running worker reloads them without
a restart; the worker's snapshot is served; camera passwords never show."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from tests.review_support import make_settings, worker_and_server
from tests.waiting import wait_for
from streetwarden.config import parse_settings

NEW_ZONE = {"id": "kerb-3", "name": "路缘", "kind": "no_dumping", "dwell_seconds": 45,
            "polygon": [[0.1, 0.6], [0.4, 0.6], [0.4, 0.9], [0.1, 0.9]]}


@pytest.fixture(scope="module")
def env(tmp_path_factory, vtest_path):
    tmp = tmp_path_factory.mktemp("cameras")
    base = make_settings(tmp, vtest_path, snapshot_seconds=1).model_dump(mode="json")
    base["cameras"][0]["analysis_fps"] = 0.5
    base["cameras"].append({"id": "north-rtsp", "name": "北门", "enabled": False,
                            "source": "rtsp://admin:Sup3rSecret@10.1.2.3:554/stream1", "zones": []})
    settings = parse_settings(base, origin="test", base_dir=tmp)
    with worker_and_server(settings) as (server, db, worker):
        yield {"server": server, "db": db, "worker": worker, "sup": server.client("sup"), "rev": server.client("rev1")}


def engine_zone_ids(worker) -> set[str]:
    return {z.id for z in worker.runners[0].engine.zones}


def test_cameras_list_zones_and_never_passwords(env):
    cams = env["rev"].get("/api/v1/cameras")
    assert cams.status_code == 200
    assert "Sup3rSecret" not in cams.text
    by_id = {c["id"]: c for c in cams.json()}
    assert by_id["north-rtsp"]["source"] == "rtsp://admin:***@10.1.2.3:554/stream1"
    west = by_id["west-gate"]
    assert [z["id"] for z in west["zones"]] == ["walk-1", "walk-2"]
    assert west["zones"][0]["violation_type"] == "sidewalk_parking" and west["zones"][0]["effective_dwell_seconds"] == 30
    assert west["health"]["state"] in ("starting", "online", "ended")


def test_the_worker_snapshot_is_served(env):
    assert wait_for(lambda: env["rev"].get("/api/v1/cameras/west-gate/snapshot").status_code == 200, 30)
    r = env["rev"].get("/api/v1/cameras/west-gate/snapshot")
    assert r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (576, 768, 3) and float(img.std()) > 10  # a real picture, not a blank
    missing = env["rev"].get("/api/v1/cameras/north-rtsp/snapshot")
    assert missing.status_code == 404 and "no snapshot" in missing.json()["detail"]


def test_saved_zones_reach_the_running_worker_without_a_restart(env):
    sup, worker = env["sup"], env["worker"]
    cam = sup.get("/api/v1/cameras/west-gate").json()
    zones = [{k: v for k, v in z.items() if k not in ("violation_type", "effective_dwell_seconds")} for z in cam["zones"]]
    zones = [z for z in zones if z["id"] != "walk-2"] + [NEW_ZONE]
    r = sup.put("/api/v1/cameras/west-gate/zones", json={"zones": zones, "expected_version": cam["zones_version"]})
    assert r.status_code == 200, r.text
    assert r.json()["zones_version"] == cam["zones_version"] + 1
    assert {z["id"] for z in sup.get("/api/v1/cameras/west-gate/zones").json()} == {"walk-1", "kerb-3"}
    assert wait_for(lambda: engine_zone_ids(worker) == {"walk-1", "kerb-3"}, 10), engine_zone_ids(worker)
    kerb = next(z for z in worker.runners[0].engine.zones if z.id == "kerb-3")
    assert kerb.config.kind.value == "no_dumping" and kerb.config.dwell == 45
    # the editor's stale copy is refused instead of overwriting
    stale = sup.put("/api/v1/cameras/west-gate/zones", json={"zones": [], "expected_version": cam["zones_version"]})
    assert stale.status_code == 409 and "changed by someone else" in stale.json()["detail"]
    audit = env["server"].client("adm").get("/api/v1/audit", params={"action": "zones.replace"}).json()["items"][0]
    assert audit["actor"] == "sup" and audit["target_id"] == "west-gate"
    assert {z["id"] for z in audit["details"]["before"]} == {"walk-1", "walk-2"}
    assert {z["id"] for z in audit["details"]["after"]} == {"walk-1", "kerb-3"}


def test_single_zone_add_change_delete(env):
    sup, worker = env["sup"], env["worker"]
    extra = {"id": "stall-1", "kind": "no_vending", "polygon": [[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]]}
    assert sup.post("/api/v1/cameras/west-gate/zones", json=extra).status_code == 201
    assert sup.post("/api/v1/cameras/west-gate/zones", json=extra).status_code == 409
    moved = {**extra, "id": "stall-2", "polygon": [[0.52, 0.5], [0.62, 0.5], [0.62, 0.6]], "dwell_seconds": 120}
    r = sup.put("/api/v1/cameras/west-gate/zones/stall-1", json=moved)
    assert r.status_code == 200 and "stall-2" in {z["id"] for z in r.json()["zones"]}
    assert wait_for(lambda: "stall-2" in engine_zone_ids(worker), 10)
    assert sup.delete("/api/v1/cameras/west-gate/zones/stall-2").status_code == 204
    assert sup.delete("/api/v1/cameras/west-gate/zones/stall-2").status_code == 404
    assert sup.put("/api/v1/cameras/west-gate/zones/ghost", json=moved).status_code == 404
    assert wait_for(lambda: "stall-2" not in engine_zone_ids(worker), 10)


@pytest.mark.parametrize("zone,field,words", [
    ({"id": "a", "kind": "sidewalk", "polygon": [[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]}, "body.zones.0.polygon", "outside 0-1"),
    ({"id": "a", "kind": "sidewalk", "polygon": [[0.1, 0.1], [0.2, 0.1]]}, "body.zones.0.polygon", "at least 3 points"),
    ({"id": "a", "kind": "parking", "polygon": [[0, 0], [1, 0], [1, 1]]}, "body.zones.0.kind", ""),
    ({"id": "a b", "kind": "sidewalk", "polygon": [[0, 0], [1, 0], [1, 1]]}, "body.zones.0.id", "letters, digits"),
    ({"id": "a", "kind": "sidewalk", "polygon": [[0, 0], [1, 0], [1, 1]], "dwell_seconds": -5}, "body.zones.0.dwell_seconds", "0 or more"),
    ({"id": "a", "kind": "sidewalk", "polygon": [[0, 0], [1, 0], [1, 1]], "colour": "red"}, "body.zones.0.colour", "unknown field"),
])
def test_invalid_zones_are_422_and_change_nothing(env, zone, field, words):
    sup = env["sup"]
    before = sup.get("/api/v1/cameras/west-gate").json()
    r = sup.put("/api/v1/cameras/west-gate/zones", json={"zones": [zone]})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"] and words in r.json()["detail"]
    after = sup.get("/api/v1/cameras/west-gate").json()
    assert after["zones_version"] == before["zones_version"] and after["zones"] == before["zones"]


def test_duplicate_zone_ids_are_refused(env):
    z = {"id": "same", "kind": "sidewalk", "polygon": [[0, 0], [1, 0], [1, 1]]}
    r = env["sup"].put("/api/v1/cameras/west-gate/zones", json={"zones": [z, z]})
    assert r.status_code == 422 and "appears twice" in r.json()["detail"]
