"""The model registry: the state machine (candidate → shadow → active → retired, rollback to the version
replaced) on SQLite and PostgreSQL, every move audited; the CLI's one-line errors for unknown
NAME@VERSION, illegal moves and a file of the wrong family; the admin API with the same rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from streetwarden.config import load_settings
from streetwarden.store.db import Database
from streetwarden.store.model_registry import service
from streetwarden.store.model_registry.service import RegistryError
from tests.registry_support import YOLOV8, YOLOX, audit_moves, error_lines, model_file, ok, sw
from tests.review_support import LiveServer, add_users


def add(s, name: str) -> str:  # type: ignore[no-untyped-def]
    row = service.add_version(s, name, f"{name}.onnx", "0" * 64, "yolox", {}, {}, None, "tester", None)
    return row.ref


def state(s, ref: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    row = service.get(s, ref)
    return row.state, list(row.cameras)


def test_state_machine_promote_and_rollback_by_scope(database_url):
    db = Database(database_url)
    db.upgrade()
    cams = {"a", "b", "c"}
    with db.session() as s:
        one, two, three = add(s, "garbage"), add(s, "garbage"), add(s, "garbage")
        assert (one, two, three) == ("garbage@1", "garbage@2", "garbage@3")
        service.shadow(s, two, ["b", "a"], "ops", "trial", cams)
        assert state(s, two) == ("shadow", ["a", "b"])
        service.promote(s, one, None, "ops", "first", cams)
        service.promote(s, two, None, "ops", "better", cams)  # replaces garbage@1 everywhere
        assert state(s, one) == ("retired", []) and state(s, two) == ("active", [])
        service.promote(s, three, ["c"], "ops", "only c", cams)  # a scoped active beside the global one
        rows = service.running(s)
        assert service.assignment(rows, "c").active.ref == three and service.assignment(rows, "a").active.ref == two
        gone, back = service.rollback(s, ["c"], "ops", "c regressed", cams)
        assert gone.ref == three and back is None and state(s, two) == ("active", [])
        assert service.assignment(service.running(s), "c").active.ref == two  # c falls back to the global one
        gone, back = service.rollback(s, None, "ops", "back", cams)
        assert (gone.ref, back.ref) == (two, one) and state(s, one) == ("active", [])
    moves = [(a, t) for a, t, _, _ in audit_moves(db)]
    assert moves == [("model.register", one), ("model.register", two), ("model.register", three),
                     ("model.shadow", two), ("model.promote", one), ("model.promote", two), ("model.promote", three),
                     ("model.rollback", three), ("model.rollback", two)]
    assert all(actor == "ops" for a, _, actor, _ in audit_moves(db) if a != "model.register")


def test_illegal_moves_name_the_state_and_the_next_command(database_url):
    db = Database(database_url)
    db.upgrade()
    with db.session() as s:
        ref = add(s, "bins")
        service.promote(s, ref, None, "ops", None, {"a"})
    with db.session() as s:
        for move, code, words in [
            (lambda: service.promote(s, ref, None, "ops", None, {"a"}), "model_state", "models rollback"),
            (lambda: service.shadow(s, ref, ["a"], "ops", None, {"a"}), "model_state", "models rollback"),
            (lambda: service.shadow(s, "bins@9", ["a"], "ops", None, {"a"}), "model_not_registered", "has versions 1"),
            (lambda: service.promote(s, "nope@1", None, "ops", None, {"a"}), "model_not_registered", "models register"),
            (lambda: service.promote(s, "bins", None, "ops", None, {"a"}), "model_ref_invalid", "NAME@VERSION"),
            (lambda: service.rollback(s, ["a"], "ops", None, {"a"}), "model_state", "give the same --cameras"),
            (lambda: service.promote(s, ref, ["zz"], "ops", None, {"a"}), "model_camera_unknown", "zz"),
        ]:
            with pytest.raises(RegistryError) as err:
                move()
            assert err.value.code == code and words in str(err.value), str(err.value)


def config(tmp: Path) -> Path:
    path = tmp / "sw.yaml"
    path.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
        "models": {"default": {"path": model_file(YOLOX), "threads": 1}},
        "cameras": [{"id": "west-gate", "source": "unused.avi"}]}), encoding="utf-8")
    return path


def test_cli_register_list_and_one_line_errors(tmp_path):
    cfg = config(tmp_path)
    wrong = tmp_path / "looks-like-yolox.onnx"  # a YOLOv8 file whose card says YOLOX
    wrong.write_bytes(Path(model_file(YOLOV8)).read_bytes())
    wrong.with_suffix(".yaml").write_text("family: yolox\ninput_size: 640\n", encoding="utf-8")
    out = ok(cfg, "models", "register", model_file(YOLOX), "--name", "street", "--actor", "ops", "--reason", "trial")
    assert "registered street@1" in out and "models shadow street@1" in out
    cases = [
        (("models", "register", str(wrong), "--name", "street"), ["ultralytics", "says yolox", "--name"]),
        (("models", "register", model_file(YOLOV8), "--name", "street"), ["street@1 is a yolox model", "own --name"]),
        (("models", "promote", "street@7"), ["unknown model street@7", "has versions 1"]),
        (("models", "promote", "lane@1"), ["no model named lane", "models register FILE --name lane"]),
        (("models", "shadow", "street@1", "--cameras", "north"), ["unknown camera north", "west-gate"]),
        (("models", "rollback",), ["nothing to roll back", "configuration's models run"]),
        (("models", "shadow-report", "street@1"), ["never run in shadow", "models shadow street@1 --cameras"]),
    ]
    for args, words in cases:
        r = sw(cfg, *args)
        lines = error_lines(r)
        assert r.returncode == 2 and len(lines) == 1 and all(w in lines[0] for w in words), (args, r.stderr[-2000:])
    ok(cfg, "models", "promote", "street@1", "--actor", "ops")
    r = sw(cfg, "models", "shadow", "street@1", "--cameras", "west-gate")  # active: illegal move
    assert r.returncode == 2 and "street@1 is active on every camera" in error_lines(r)[0]
    listed = ok(cfg, "models", "list")
    assert "yolox_nano_coco_416.onnx [default]" in listed  # the file listing stays as it was
    assert "registry street@1 active [every camera] yolox street-v1.onnx" in listed
    db = Database(load_settings(cfg).database_url)
    assert [(a, t, actor) for a, t, actor, _ in audit_moves(db)] == [
        ("model.register", "street@1", "ops"), ("model.promote", "street@1", "ops")]


def test_api_admin_only_same_rules_and_audit(tmp_path):
    settings = load_settings(config(tmp_path))
    db = Database(settings.database_url)
    db.upgrade()
    add_users(db)
    with db.session() as s:
        ref = add(s, "street")
    with LiveServer(settings, db) as server:
        assert server.client().get("/api/v1/models").status_code == 401
        rev = server.client("rev1")
        assert rev.get("/api/v1/models").status_code == 403
        assert rev.post(f"/api/v1/models/{ref}/promote", json={}).status_code == 403
        adm = server.client("adm")
        listed = adm.get("/api/v1/models").json()["models"]
        assert [(m["ref"], m["state"]) for m in listed] == [(ref, "candidate")]
        r = adm.post(f"/api/v1/models/{ref}/shadow", json={"cameras": ["west-gate"], "reason": "try"})
        assert r.status_code == 200 and r.json()["state"] == "shadow" and r.json()["cameras"] == ["west-gate"]
        for path, body, status, code in [
            ("/api/v1/models/street@5/promote", {}, 404, "model_not_registered"),
            ("/api/v1/models/street/promote", {}, 422, "model_ref_invalid"),
            (f"/api/v1/models/{ref}/shadow", {"cameras": ["north"]}, 422, "model_camera_unknown"),
            ("/api/v1/models/rollback", {}, 409, "model_state"),
            (f"/api/v1/models/{ref}/promote", {"cameras": "west-gate"}, 422, "invalid_request"),
        ]:
            r = adm.post(path, json=body)
            assert (r.status_code, r.json()["code"]) == (status, code), (path, r.text)
        assert adm.post(f"/api/v1/models/{ref}/promote", json={"reason": "good"}).json()["state"] == "active"
        assert adm.post(f"/api/v1/models/{ref}/promote", json={}).json()["code"] == "model_state"
        r = adm.post("/api/v1/models/rollback", json={"reason": "undo"})
        assert r.status_code == 200 and r.json()["state"] == "retired"
    assert [(a, actor) for a, _, actor, _ in audit_moves(db)] == [
        ("model.register", "tester"), ("model.shadow", "adm"), ("model.promote", "adm"), ("model.rollback", "adm")]


def test_every_registry_error_code_is_translated():
    from streetwarden.api.model_registry.views import STATUS

    text = (Path(__file__).resolve().parents[1] / "review_ui" / "static" / "i18n.js").read_text(encoding="utf-8")
    for code in [*STATUS, "model_wrong_family"]:
        assert text.count(f"err_{code}:") == 2, code  # zh-CN and en
