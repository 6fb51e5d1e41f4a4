"""Evidence bundles (ZIP + SHA-256 manifest), the shop registry and rating, and the statistics API,
through real HTTP; evidence comes from real vtest frames."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import cv2
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.enforcement_support import make_app, make_settings, open_db, raise_candidate, vtest_frame
from streetwarden.pipeline.recheck import LiveBoard, RecheckService
from streetwarden.store.notice_schema import Case, Notice
from streetwarden.store.notices import close_complied, issue_from_decision
from streetwarden.store.schema import Candidate, Evidence

CLOTH = (68, 495, 160, 530)


def test_case_bundle_holds_every_file_with_its_hash(tmp_path, vtest_path, yolox):
    settings = make_settings(tmp_path, notices={"grace_seconds": {"illegal_dumping": 0}})
    db = open_db(settings)
    cid = raise_candidate(db, settings, vtest_frame(vtest_path, 300), zone_id="grass-1", violation="illegal_dumping",
                          label="unknown", box=CLOTH)
    with db.session() as s:
        nref = issue_from_decision(s, s.get(Candidate, cid), "warn", "alice", settings).ref
    board = LiveBoard()
    later = vtest_frame(vtest_path, 700)
    board.record("west-gate", 70.0, later, yolox.detect(later))
    assert RecheckService(db, settings, board).run_due()[0]["outcome"] == "case"
    with db.session() as s:
        cref = s.scalar(select(Case)).ref
        kinds = [e.kind for e in s.scalars(select(Evidence).where(Evidence.candidate_id == cid))]
    assert sorted(kinds) == ["clean", "crop", "first", "frame", "recheck"]

    client = TestClient(make_app(settings, db, role="reviewer"))
    r = client.get(f"/api/v1/cases/{cref}/bundle")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f'filename="{cref}.zip"' in r.headers["content-disposition"]
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["ref"] == cref and manifest["intact"] is True
    names = {f["name"] for f in manifest["files"]}
    assert set(zf.namelist()) == names | {"manifest.json"}
    for f in manifest["files"]:
        data = zf.read(f["name"])
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
        if "recorded_sha256" in f:
            assert f["recorded_sha256"] == f["sha256"]
    assert {f["kind"] for f in manifest["files"]} == {"clean", "crop", "first", "frame", "recheck", "frame_strip", "record"}
    strip = cv2.imdecode(np.frombuffer(zf.read("frame_strip.jpg"), np.uint8), cv2.IMREAD_COLOR)
    assert strip.shape[0] == 360 and strip.shape[1] > 3 * 400  # first, best view and re-check side by side
    record = json.loads(zf.read("record.json"))
    assert record["ref"] == cref and record["notice_ref"] == nref and record["origin"] == "escalation"
    # the evidence files in the ZIP are byte-identical to the stored ones
    with db.session() as s:
        for e in s.scalars(select(Evidence).where(Evidence.candidate_id == cid)):
            inzip = zf.read(f"evidence/{e.id:06d}-{e.kind}.jpg")
            assert inzip == (settings.storage_path / e.path).read_bytes() and hashlib.sha256(inzip).hexdigest() == e.sha256

    # a changed evidence file is reported, not hidden
    with db.session() as s:
        frame_ev = s.scalar(select(Evidence).where(Evidence.candidate_id == cid, Evidence.kind == "frame"))
    path = settings.storage_path / frame_ev.path
    path.write_bytes(path.read_bytes() + b"\0")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/notices/{nref}/bundle").content)).read("manifest.json"))
    assert manifest["intact"] is False
    bad = [f for f in manifest["files"] if f.get("intact") is False]
    assert [f["kind"] for f in bad] == ["frame"] and bad[0]["sha256"] != bad[0]["recorded_sha256"]
    assert client.get("/api/v1/cases/SW-C-999999/bundle").status_code == 404
    assert client.get(f"/api/v1/cases/{nref}/bundle").status_code == 404  # a notice ref on the case route
    client.app.state.principal = type(client.app.state.principal)(username="nobody", role="viewer", user_id=0)
    assert client.get(f"/api/v1/cases/{cref}/bundle").status_code == 403


def test_shop_notices_and_rating(tmp_path, vtest_path, database_url):
    settings = make_settings(tmp_path, shop_rating={"yellow_at": 2, "red_at": 3}, database=database_url)
    db = open_db(settings)
    frame = vtest_frame(vtest_path, 300)
    client = TestClient(make_app(settings, db, role="supervisor"))
    ratings = []
    for i in range(3):
        cid = raise_candidate(db, settings, frame, zone_id="front-1", violation="out_of_shop", label="chair",
                              box=(100 + 5 * i, 420, 160 + 5 * i, 470), ts=100.0 * (i + 1))
        with db.session() as s:
            row = issue_from_decision(s, s.get(Candidate, cid), "warn" if i < 2 else "case", "alice", settings)
            assert row.shop_id == "noodles"
        ratings.append(client.get("/api/v1/shops/noodles").json())
    assert [(r["violations"], r["rating"]) for r in ratings] == [(1, "green"), (2, "yellow"), (3, "red")]
    shop = client.get("/api/v1/shops").json()[0]
    assert shop["name"] == "兰州拉面" and shop["contact"].startswith("王先生") and shop["zones"] == ["west-gate/front-1"]
    assert shop["window_days"] == 90
    notices = client.get("/api/v1/notices").json()["items"]
    assert [n["shop_id"] for n in notices] == ["noodles", "noodles"]
    assert client.get("/api/v1/shops/none-such").status_code == 404


def test_shop_config_errors_name_the_field(tmp_path):
    import pytest

    from streetwarden.config import ConfigError

    with pytest.raises(ConfigError, match=r"shop 'x' lists zone 'west-gate/nope'"):
        make_settings(tmp_path, shops=[{"id": "x", "name": "X", "zones": ["west-gate/nope"]}])
    with pytest.raises(ConfigError, match=r"names shop_id 'noodles', which is not in `shops`"):
        make_settings(tmp_path, shops=[])
    with pytest.raises(ConfigError, match=r"shop_rating: red_at \(2\) must be greater than yellow_at \(2\)"):
        make_settings(tmp_path, shop_rating={"yellow_at": 2, "red_at": 2})


def test_statistics_api(tmp_path, vtest_path, database_url):
    """The page (/stats, static, reading this API) is tested in a browser: tests/test_enforcement_ui_e2e.py."""
    settings = make_settings(tmp_path, database=database_url)
    db = open_db(settings)
    frame = vtest_frame(vtest_path, 300)
    ids = [raise_candidate(db, settings, frame, ts=100.0 * (i + 1), box=(651 - i, 42, 724, 99)) for i in range(6)]
    with db.session() as s:
        c = [s.get(Candidate, i) for i in ids]
        c[0].status = "rejected"
        n1 = issue_from_decision(s, c[1], "warn", "alice", settings)
        close_complied(s, n1, settings, None, "gone")
        n2 = issue_from_decision(s, c[2], "warn", "alice", settings)
        issue_from_decision(s, c[2], "case", "bob", settings)  # escalates the open notice
        issue_from_decision(s, c[3], "warn", "alice", settings)  # still open
        issue_from_decision(s, c[4], "case", "alice", settings)
        assert n2.status == "escalated"
    client = TestClient(make_app(settings, db, role="reviewer"))
    body = client.get("/api/v1/stats", params={"tz": 480}).json()
    assert len(body["rows"]) == 1
    row = body["rows"][0]
    assert row["camera_id"] == "west-gate" and row["violation"] == "sidewalk_parking"
    expect = {"captured": 6, "confirmed": 4, "rejected": 1, "warned": 3, "complied": 1, "escalated": 1, "cases": 2,
              "closed_without_case": 1, "share_closed_without_case": 0.25}
    assert {k: row[k] for k in expect} == expect and {k: body["totals"][k] for k in expect} == expect
    assert client.get("/api/v1/stats", params={"camera": "other"}).json()["rows"] == []
    assert client.get("/api/v1/stats", params={"violation": "street_vendor"}).json()["totals"]["captured"] == 0
    assert client.get("/api/v1/stats", params={"from": "2030-01-02", "to": "2030-01-01"}).status_code == 422
    assert client.get("/api/v1/stats", params={"from": "yesterday"}).status_code == 422
    assert client.get("/api/v1/stats", params={"violation": "jaywalking"}).status_code == 422
