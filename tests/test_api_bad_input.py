"""Bad input never gets a 5xx (issue 12): each defect a fuzzer or a person found, against a real
uvicorn server over a seeded SQLite database."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
from sqlalchemy import text

from tests.api_world import api_world
from tests.review_support import LiveServer, add_users, make_settings
from streetwarden.store.db import Database

BIG = 2**63  # one past the largest id SQLite / BIGINT hold
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")
ZONE = {"id": "z", "kind": "sidewalk", "polygon": [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3]]}


@pytest.fixture(scope="module")
def world(tmp_path_factory, vtest_path):
    with api_world(tmp_path_factory.mktemp("bad-input"), vtest_path) as w:
        yield w


@pytest.fixture(scope="module")
def clients(world):
    made = {u: world.server.client(u) for u in ("adm", "sup", "rev1", "rev2", "case-system")}
    yield made
    for c in made.values():
        c.close()


def assert_invalid(r: httpx.Response, field: str) -> None:
    """A 422 in the documented shape whose errors name `field`."""
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == "invalid_request" and isinstance(body["detail"], str), body
    assert any(field in e["field"] for e in body["errors"]), body


@pytest.mark.parametrize("params,field", [
    ({"to": "0001-01-01"}, "query.to"),
    ({"to": "9999-12-31"}, "query.to"),
    ({"from": "0001-01-01"}, "query.from"),
    ({"from": "1999-12-31", "to": "2000-01-10"}, "query.from"),
])
def test_stats_days_outside_the_sane_range_are_422(clients, params, field):
    assert_invalid(clients["rev1"].get("/api/v1/stats", params=params), field)


def test_stats_at_the_edges_of_the_range_still_answer(clients):
    r = clients["rev1"].get("/api/v1/stats", params={"to": "2000-01-05"})  # default `from` clamped to 2000-01-01
    assert r.status_code == 200 and r.json()["from"] == "2000-01-01", r.text
    assert clients["rev1"].get("/api/v1/stats", params={"from": "2000-01-01", "to": "2100-12-31"}).status_code == 200
    assert_invalid(clients["rev1"].get("/api/v1/stats", params={"from": "2024-05-02", "to": "2024-05-01"}), "request")


def test_ids_past_63_bits_are_422_not_a_database_overflow(clients):
    adm, sup = clients["adm"], clients["sup"]
    assert_invalid(adm.get("/api/v1/webhooks/deliveries", params={"after_id": BIG}), "query.after_id")
    assert_invalid(adm.post(f"/api/v1/webhooks/deliveries/{BIG}/redeliver"), "path.delivery_id")
    assert_invalid(sup.put("/api/v1/cameras/west-gate/zones", json={"zones": [ZONE], "expected_version": BIG}),
                   "body.expected_version")
    assert_invalid(sup.put(f"/api/v1/candidates/{BIG}/plate", json={"text": "粤B12345"}), "path.candidate_id")
    # the largest id that fits is a plain "no such thing"
    r = adm.post(f"/api/v1/webhooks/deliveries/{BIG - 1}/redeliver")
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
    assert adm.get("/api/v1/webhooks/deliveries", params={"after_id": BIG - 1}).json() == []


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("payload", [["1700000000.0", 1e30], ["1700000000.0", 2**64], ["1700000000.0", -1],
                                     ["1700000000.0", True], ["inf", 3]])
def test_forged_pull_cursors_are_422(clients, payload):
    for path in ("/api/v1/notices", "/api/v1/cases"):
        r = clients["case-system"].get(path, params={"cursor": _cursor(payload)})
        assert r.status_code == 422 and "cursor" in r.json()["detail"], (path, payload, r.status_code, r.text)


def test_updated_since_outside_1970_to_2100_is_422(clients):
    for value in ("1e30", "-5", "nan", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        r = clients["case-system"].get("/api/v1/notices", params={"updated_since": value})
        assert r.status_code == 422 and "updated_since" in r.json()["detail"], (value, r.text)


def test_a_huge_zone_is_refused_before_it_is_read(clients):
    huge = {"zones": [{**ZONE, "polygon": [[0.5, 0.5]] * 1_000_000}]}  # ~14 MB
    r = clients["sup"].put("/api/v1/cameras/west-gate/zones", json=huge)
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "body_too_large" and "max_body_bytes" in r.json()["detail"]
    assert all(h in r.headers for h in SECURITY_HEADERS), r.headers


def test_a_streamed_body_over_the_limit_is_413(clients):
    def chunks():  # no Content-Length: the limit is counted while the body arrives
        yield b'{"zones": [{"id": "z", "kind": "sidewalk", "polygon": ['
        for _ in range(200):
            yield b"[0.5, 0.5], " * 1000
        yield b"[0.5, 0.5]]}]}"

    r = clients["sup"].put("/api/v1/cameras/west-gate/zones", content=chunks(),
                           headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large", r.text[:300]


@pytest.mark.parametrize("zone,field", [
    ({**ZONE, "polygon": [[0.1 + i / 1000, 0.1] for i in range(101)]}, "polygon"),
    ({**ZONE, "dwell_seconds": 1e308}, "dwell_seconds"),
    ({**ZONE, "dwell_seconds": 86401}, "dwell_seconds"),
    ({**ZONE, "name": "街" * 201}, "name"),
    ({**ZONE, "labels": ["car"] * 51}, "labels"),
    ({**ZONE, "max_age_seconds": 1e12}, "max_age_seconds"),
    ({**ZONE, "min_object_pixels": 2**70}, "min_object_pixels"),
])
def test_zone_numbers_and_lists_have_bounds(clients, zone, field):
    assert_invalid(clients["sup"].post("/api/v1/cameras/west-gate/zones", json=zone), field)


def test_nan_and_infinity_are_not_numbers_a_zone_takes(clients):
    for literal in ("NaN", "Infinity"):
        body = json.dumps({**ZONE, "max_displacement": 0.5}).replace("0.5}", f"{literal}}}")
        r = clients["sup"].post("/api/v1/cameras/west-gate/zones", content=body, headers={"content-type": "application/json"})
        assert_invalid(r, "max_displacement")


def test_a_camera_holds_at_most_100_zones_and_stays_small(clients):
    sup = clients["sup"]
    many = [{**ZONE, "id": f"z{i}"} for i in range(101)]
    assert_invalid(sup.put("/api/v1/cameras/west-gate/zones", json={"zones": many}), "body.zones")
    before = sup.get("/api/v1/cameras/west-gate").json()
    try:
        r = sup.put("/api/v1/cameras/west-gate/zones", json={"zones": many[:100]})
        assert r.status_code == 200, r.text[:300]
        r = sup.post("/api/v1/cameras/west-gate/zones", json={**ZONE, "id": "one-too-many"})
        assert r.status_code == 409 and r.json()["code"] == "too_many_zones", r.text[:300]
        assert len(sup.get("/api/v1/cameras/west-gate").json()["zones"]) == 100
        assert len(sup.get("/api/v1/cameras").content) < 200_000
    finally:
        restore = [{k: v for k, v in z.items() if k not in ("violation_type", "effective_dwell_seconds")}
                   for z in before["zones"]]
        assert sup.put("/api/v1/cameras/west-gate/zones", json={"zones": restore}).status_code == 200


def test_releasing_another_reviewers_claim_is_403_and_changes_nothing(clients):
    rev1, rev2, sup = clients["rev1"], clients["rev2"], clients["sup"]
    cid = rev1.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"][0]["id"]
    try:
        r = rev2.post(f"/api/v1/candidates/{cid}/release")
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "not_your_claim" and "rev1" in r.json()["detail"]
        assert rev2.get(f"/api/v1/candidates/{cid}").json()["claim"]["user"] == "rev1"
        assert rev1.post(f"/api/v1/candidates/{cid}/release").status_code == 204  # one's own: fine
        cid2 = rev1.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"][0]["id"]
        assert sup.post(f"/api/v1/candidates/{cid2}/release").status_code == 204  # a supervisor may
        assert rev2.get(f"/api/v1/candidates/{cid2}").json()["claim"] is None
    finally:
        rev1.delete("/api/v1/candidates/claims")


def test_every_error_body_has_the_documented_shape(world, clients):
    spec = clients["adm"].get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorOut"]["required"]) == {"detail", "code"}
    assert set(schemas["ValidationErrorOut"]["required"]) == {"detail", "code", "errors"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    want = "ValidationErrorOut" if status == "422" else ("ConflictOut", "ErrorOut")
                    assert ref.rsplit("/", 1)[-1] in want, (method, path, status, ref)
    # answers of every kind of error, from routes of every package
    anon = httpx.Client(base_url=world.server.url)
    answers = {
        "401": anon.get("/api/v1/notices"),
        "403": clients["rev1"].get("/api/v1/webhooks/deliveries"),
        "404": clients["rev1"].get("/api/v1/notices/SW-N-999999"),
        "409": clients["adm"].post("/api/v1/webhooks/deliveries/2/redeliver"),
        "422 (a rule of ours)": clients["rev1"].get("/api/v1/stats", params={"from": "2024-05-02", "to": "2024-05-01"}),
        "422 (a type)": clients["case-system"].get("/api/v1/cases", params={"limit": "many"}),
        "422 (a store rule)": clients["case-system"].get("/api/v1/cases", params={"cursor": "bm9wZQ"}),
    }
    for what, r in answers.items():
        assert r.status_code == int(what[:3]), (what, r.status_code, r.text)
        body = r.json()
        assert isinstance(body["detail"], str) and body["code"], (what, body)
        if what.startswith("422"):
            assert body["errors"] and all(isinstance(e["field"], str) and e["message"] for e in body["errors"]), body
    anon.close()


def test_openapi_lists_every_status_a_route_answers(clients):
    spec = clients["adm"].get("/openapi.json").json()
    expect = {
        ("get", "/api/v1/notices/{ref}"): {"401", "403", "404", "422"},
        ("get", "/api/v1/cases/{ref}/bundle"): {"401", "403", "404"},
        ("post", "/api/v1/cases/{ref}/status"): {"400", "401", "403", "404", "409", "413", "422"},
        ("post", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"): {"401", "403", "404", "409", "422"},
        ("post", "/api/v1/notices/{ref}/supervisor-decision"): {"401", "403", "404", "409", "413", "422"},
        ("put", "/api/v1/candidates/{candidate_id}/plate"): {"401", "403", "404", "413", "422"},
        ("get", "/api/v1/shops/{shop_id}"): {"401", "403", "404"},
        ("get", "/api/v1/stats"): {"401", "403", "422"},
        ("post", "/api/v1/candidates/{candidate_id}/release"): {"401", "403", "404", "422"},
        ("post", "/api/v1/cameras/{camera_id}/zones"): {"401", "403", "404", "409", "413", "422"},
        ("get", "/api/v1/cameras/health"): {"401", "403"},
    }
    for (method, path), codes in expect.items():
        assert codes <= set(spec["paths"][path][method]["responses"]), (method, path)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "500" in op["responses"], (method, path)
            if "requestBody" in op:
                assert "413" in op["responses"], (method, path)
    polygon = spec["components"]["schemas"]["ZoneConfig"]["properties"]["polygon"]
    assert polygon["maxItems"] == 100 and polygon["minItems"] == 3


def test_an_unexpected_error_is_a_clean_500_and_the_connection_stays_usable(tmp_path, vtest_path, caplog):
    settings = make_settings(tmp_path, vtest_path)
    db = Database(settings.database_url)
    db.upgrade()
    add_users(db)
    with db.engine.begin() as conn:  # a real fault: the shops table is gone from under the server
        conn.execute(text("DROP TABLE shops"))
    caplog.set_level(logging.INFO)
    with LiveServer(settings, db) as server:
        c = server.client("rev1")  # one httpx client: one keep-alive connection
        addrs = set()  # the local address of the connection each answer came on
        try:
            fine = c.get("/api/v1/auth/me")
            addrs.add(fine.extensions["network_stream"].get_extra_info("client_addr"))
            caplog.clear()
            r = c.get("/api/v1/shops")
            addrs.add(r.extensions["network_stream"].get_extra_info("client_addr"))
            after = c.get("/api/v1/auth/me")
            addrs.add(after.extensions["network_stream"].get_extra_info("client_addr"))
        finally:
            c.close()
    assert r.status_code == 500, r.text
    assert r.json() == {"detail": "internal error (logged); try again or report it", "code": "internal_error"}
    assert r.headers["content-type"] == "application/json"
    for h in SECURITY_HEADERS:
        assert r.headers.get(h) == fine.headers[h], h
    assert after.status_code == 200 and after.json()["user"]["username"] == "rev1"
    assert len(addrs) == 1, addrs  # the same keep-alive connection carried all three requests
    failed = [rec for rec in caplog.records if rec.getMessage() == "request_failed"]
    assert len(failed) == 1, [rec.getMessage() for rec in caplog.records]
    fields = failed[0].fields  # type: ignore[attr-defined]
    assert fields["request"] == "GET /api/v1/shops" and "OperationalError" in fields["error"]
    assert "Traceback" in fields["traceback"] and "shops" in fields["traceback"]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR and rec is not failed[0]]
