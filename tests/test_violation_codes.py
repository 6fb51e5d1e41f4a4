"""Violation codes of the trade (GB/T 30428 / CJJ/T 106 event classes) in what the case system gets:
the pull API and the signed webhook bodies, with the standard's defaults, a deployment's override
from the config file, and the code a notice was issued under kept after the config changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streetwarden.config import ConfigError, parse_settings
from streetwarden.pipeline.webhooks import WebhookDeliverer
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate
from streetwarden.vocabulary import DEFAULT_VIOLATION_CODES, VIOLATIONS
from tests.enforcement_support import SECRET, ZONES, Receiver, free_port, make_app, open_db, raise_candidate, vtest_frame
from tests.waiting import wait_for

BIKE_ZONE = {"id": "bikes-1", "kind": "non_motor", "polygon": [[0.5, 0.5], [0.8, 0.5], [0.8, 0.9], [0.5, 0.9]]}
CITY_CODES = {"sidewalk_parking": {"category": "街面秩序", "category_code": "02", "code": "020105", "name": "机动车乱停放"}}


def settings_for(root: Path, database: str, **over):
    data = {"database": database, "storage": str(root / "data"),
            "cameras": [{"id": "west-gate", "source": "unused.avi", "zones": [*ZONES, BIKE_ZONE]}],
            "shops": [{"id": "noodles", "name": "兰州拉面"}]}
    data.update(over)
    return parse_settings(data, base_dir=root)


def test_every_violation_has_a_default_code():
    assert set(DEFAULT_VIOLATION_CODES) == set(VIOLATIONS)
    assert DEFAULT_VIOLATION_CODES["non_motor_parking"].name == "非机动车乱停放"
    assert DEFAULT_VIOLATION_CODES["illegal_dumping"].category == "市容环境"


def test_pull_api_carries_codes_and_override_changes_them(tmp_path, vtest_path, database_url):
    settings = settings_for(tmp_path, database_url)
    db = open_db(settings)
    frame = vtest_frame(vtest_path)
    car = raise_candidate(db, settings, frame, ts=100.0)
    bike = raise_candidate(db, settings, frame, ts=200.0, zone_id="bikes-1", violation="non_motor_parking",
                           label="bicycle", box=(400, 300, 520, 480))
    with db.session() as s:
        old_ref = issue_from_decision(s, s.get(Candidate, car), "warn", "alice", settings).ref
        case_ref = issue_from_decision(s, s.get(Candidate, bike), "case", "alice", settings).ref
    client = TestClient(make_app(settings, db))
    notice = client.get(f"/api/v1/notices/{old_ref}").json()
    assert notice["violation_code"] == {"category": "街面秩序", "category_code": "05", "code": "0505", "name": "机动车乱停放"}
    case = client.get("/api/v1/cases").json()["items"][0]
    assert case["ref"] == case_ref and case["violation"] == "non_motor_parking"
    assert case["violation_code"]["name"] == "非机动车乱停放" and case["violation_code"]["code"] == "0506"

    # the city's own code table, set in the config file: new notices are filed under it ...
    city = settings_for(tmp_path, database_url, violation_codes=CITY_CODES)
    later = raise_candidate(db, city, frame, ts=300.0, box=(600, 40, 700, 100))
    with db.session() as s:
        new_ref = issue_from_decision(s, s.get(Candidate, later), "warn", "alice", city).ref
    client = TestClient(make_app(city, db))
    items = {n["ref"]: n for n in client.get("/api/v1/notices").json()["items"]}
    assert items[new_ref]["violation_code"] == CITY_CODES["sidewalk_parking"]
    # ... and the notice issued before keeps the code it was issued with
    assert items[old_ref]["violation_code"]["code"] == "0505"
    # a case escalated from a notice is filed under the notice's code
    with db.session() as s:
        escalated = issue_from_decision(s, s.get(Candidate, later), "case", "alice", city).ref
    assert client.get(f"/api/v1/cases/{escalated}").json()["violation_code"]["code"] == "020105"
    # a record issued before codes were stamped reports the standard's default
    with db.session() as s:
        row = s.get(Candidate, bike)
        row.attributes = {k: v for k, v in row.attributes.items() if k != "violation_code"}
    assert client.get(f"/api/v1/cases/{case_ref}").json()["violation_code"]["code"] == "0506"


def test_webhook_bodies_carry_the_configured_code(tmp_path, vtest_path, monkeypatch):
    monkeypatch.setenv("SW_TEST_HOOK_SECRET", SECRET)
    port = free_port()
    hooks = {"url": f"http://127.0.0.1:{port}/hook", "secret_env": "SW_TEST_HOOK_SECRET", "poll_seconds": 0.05,
             "backoff_seconds": 0.1, "backoff_max_seconds": 0.4}
    over = {"non_motor_parking": {"category": "街面秩序", "code": "NM-7", "name": "共享单车乱停放"}}
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'sw.db'}", webhooks=hooks, violation_codes=over)
    db = open_db(settings)
    frame = vtest_frame(vtest_path)
    bike = raise_candidate(db, settings, frame, zone_id="bikes-1", violation="non_motor_parking", label="bicycle",
                           box=(400, 300, 520, 480))
    car = raise_candidate(db, settings, frame, ts=90.0)
    with db.session() as s:
        issue_from_decision(s, s.get(Candidate, bike), "warn", "alice", settings)
        issue_from_decision(s, s.get(Candidate, car), "case", "alice", settings)
    receiver = Receiver(port).start()
    try:
        deliverer = WebhookDeliverer(db, settings.webhooks, worker_id="codes").start()
        assert wait_for(lambda: len(receiver.posts) >= 2, timeout=30)
        deliverer.stop()
    finally:
        receiver.stop()
    bodies = {p["event"]: p["body"]["data"] for p in receiver.posts}
    assert all(p["sig_ok"] for p in receiver.posts)
    assert bodies["notice.created"]["violation_code"] == {"category": "街面秩序", "category_code": "05", "code": "NM-7",
                                                          "name": "共享单车乱停放"}
    assert bodies["case.created"]["violation_code"]["name"] == "机动车乱停放"  # not overridden: the default


def test_bad_override_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"violation_codes: unknown violation 'parking'"):
        settings_for(tmp_path, "sqlite://", violation_codes={"parking": {"category": "a", "code": "b", "name": "c"}})
    with pytest.raises(ConfigError, match=r"violation_codes\.sidewalk_parking\.code: Field required"):
        settings_for(tmp_path, "sqlite://", violation_codes={"sidewalk_parking": {"category": "a", "name": "c"}})
