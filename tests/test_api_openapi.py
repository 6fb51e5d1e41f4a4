"""The API describes itself: /openapi.json (behind a login) documents every route, parameter and field,
and /docs renders it from files this server ships (no CDN)."""

from __future__ import annotations

import pytest

from tests.review_support import LiveServer, add_users, make_settings
from streetwarden.store.db import Database


@pytest.fixture(scope="module")
def server(tmp_path_factory, vtest_path):
    tmp = tmp_path_factory.mktemp("openapi")
    settings = make_settings(tmp, vtest_path)
    db = Database(settings.database_url)
    db.upgrade()
    add_users(db)
    with LiveServer(settings, db) as s:
        yield s


def _resolve(schema, spec):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def test_every_route_parameter_and_field_is_described(server):
    r = server.client("rev1").get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 20
    missing = []
    for path, method, op in ops:
        if not op.get("summary") or not op.get("description"):
            missing.append(f"{method} {path}: summary/description")
        for par in op.get("parameters", []):
            if not par.get("description"):
                missing.append(f"{method} {path}: parameter {par['name']}")
        for code, resp in op.get("responses", {}).items():
            if not resp.get("description"):
                missing.append(f"{method} {path}: response {code}")
        if path.startswith("/api/v1/") and path not in ("/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/health"):
            assert op.get("security"), f"{method} {path} shows no authentication"
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"schema {name}.{field}")
    assert not missing, "\n".join(missing)
    for expected in ("/api/v1/candidates", "/api/v1/candidates/claim", "/api/v1/candidates/{candidate_id}/decision",
                     "/api/v1/decisions", "/api/v1/cameras/{camera_id}/zones", "/api/v1/auth/token", "/api/v1/audit"):
        assert expected in spec["paths"]
    decide = spec["paths"]["/api/v1/candidates/{candidate_id}/decision"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(decide["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in decide["parameters"])
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["session"]["in"] == "cookie"


def test_docs_page_is_served_locally(server):
    client, _ = server.browser("rev1")
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in page.text
    js = client.get("/docs-static/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert server.client().get("/docs-static/swagger-ui-bundle.js").status_code == 401
