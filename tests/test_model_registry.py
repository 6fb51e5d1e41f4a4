"""The model registry: the state machine (candidate → shadow → active → retired, rollback to the version
replaced) on SQLite and PostgreSQL, every move audited; slots (a version standing in for a camera's
extra model) moved apart from the cameras' own model; the CLI's one-line errors for unknown
NAME@VERSION, illegal moves, a file of the wrong family and bad slots; the admin API with the same rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from streetwarden.config import load_settings
from streetwarden.store.db import Database
from streetwarden.store.model_registry import service
from streetwarden.store.model_registry.service import RegistryError
from tests.registry_support import YOLOV8, YOLOX, audit_moves, error_lines, model_file, ok, sw
from tests.review_support import LiveServer, add_users


def add(s, name: str, slot: str | None = None) -> str:  # type: ignore[no-untyped-def]
    row = service.add_version(s, name, f"{name}.onnx", "0" * 64, "yolox", {}, {}, None, "tester", None, slot)
    return row.ref


def cameras(*ids: str, extra: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """Known cameras, each running the `default` model and the extra models `extra`."""
    return {c: ("default", *extra) for c in ids}


def state(s, ref: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    row = service.get(s, ref)
    return row.state, list(row.cameras)


def test_state_machine_promote_and_rollback_by_scope(database_url):
    db = Database(database_url)
    db.upgrade()
    cams = cameras("a", "b", "c")
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
        service.promote(s, ref, None, "ops", None, cameras("a"))
    with db.session() as s:
        for move, code, words in [
            (lambda: service.promote(s, ref, None, "ops", None, cameras("a")), "model_state", "models rollback"),
            (lambda: service.shadow(s, ref, ["a"], "ops", None, cameras("a")), "model_state", "models rollback"),
            (lambda: service.shadow(s, "bins@9", ["a"], "ops", None, cameras("a")), "model_not_registered", "has versions 1"),
            (lambda: service.promote(s, "nope@1", None, "ops", None, cameras("a")), "model_not_registered", "models register"),
            (lambda: service.promote(s, "bins", None, "ops", None, cameras("a")), "model_ref_invalid", "NAME@VERSION"),
            (lambda: service.rollback(s, ["a"], "ops", None, cameras("a")), "model_state", "give the same --cameras"),
            (lambda: service.promote(s, ref, ["zz"], "ops", None, cameras("a")), "model_camera_unknown", "zz"),
        ]:
            with pytest.raises(RegistryError) as err:
                move()
            assert err.value.code == code and words in str(err.value), str(err.value)


def test_slots_are_promoted_and_rolled_back_apart(database_url):
    """A `garbage` version replaces only the garbage version of its scope and leaves the cameras' own
    model's active version alone, and the other way round; a camera without a garbage model cannot be
    named for one; rollback takes the slot."""
    db = Database(database_url)
    db.upgrade()
    cams = {**cameras("a", "b", extra=("garbage",)), **cameras("c")}
    with db.session() as s:
        street, g1, g2, g3 = add(s, "street"), add(s, "garbage", "garbage"), add(s, "garbage", "garbage"), add(s, "garbage", "garbage")
        service.promote(s, street, None, "ops", None, cams)
        service.promote(s, g1, None, "ops", None, cams)
        assert state(s, street) == ("active", []) and state(s, g1) == ("active", [])  # no retirement across slots
        service.promote(s, g2, ["a"], "ops", "only a", cams)
        rows = service.running(s)
        assert service.assignment(rows, "a").active.ref == street  # slot None: the cameras' own model
        assert service.assignment(rows, "a", "garbage").active.ref == g2
        assert service.assignment(rows, "b", "garbage").active.ref == g1
        assert service.model_assignment(rows, "c", "default", main=True).active.ref == street  # garbage@ not here
        for move in (lambda: service.promote(s, g3, ["b", "c"], "ops", None, cams),
                     lambda: service.shadow(s, g3, ["c"], "ops", None, cams)):
            with pytest.raises(RegistryError) as err:
                move()
            assert err.value.code == "model_slot_not_run" and "camera c does not run slot garbage" in str(err.value)
        service.shadow(s, g3, ["b"], "ops", None, cams)
        rows = service.running(s)
        assert [v.ref for v in service.model_assignment(rows, "b", "garbage", main=False).shadows] == [g3]
        assert service.model_assignment(rows, "b", "default", main=True).shadows == ()
        with pytest.raises(RegistryError) as err:  # the main slot has nothing active on exactly a
            service.rollback(s, ["a"], "ops", None, cams)
        assert "no version of the cameras' own model is active for cameras a" in str(err.value)
        gone, back = service.rollback(s, ["a"], "ops", None, cams, slot="garbage")
        assert (gone.ref, back) == (g2, None) and service.assignment(service.running(s), "a", "garbage").active.ref == g1
        gone, back = service.rollback(s, None, "ops", "bins", cams, slot="garbage")
        assert (gone.ref, back) == (g1, None) and state(s, street) == ("active", [])
        with pytest.raises(RegistryError) as err:
            service.rollback(s, None, "ops", None, cams, slot="garbage")
        assert "active in other slots: the cameras' own model; give --slot" in str(err.value)
        gone, _ = service.rollback(s, None, "ops", None, cams)  # the main model's, with shadow g3 still on
        assert gone.ref == street and state(s, g3) == ("shadow", ["b"])
        with pytest.raises(RegistryError) as err:  # the versions of a name share one slot
            add(s, "garbage")
        assert err.value.code == "model_wrong_slot" and "garbage@3 stands in for slot garbage" in str(err.value)
    moves = [(a, t, d.get("slot"), d.get("cameras")) for a, t, _, d in audit_moves(db) if a != "model.register"]
    assert moves == [("model.promote", street, None, []), ("model.promote", g1, "garbage", []),
                     ("model.promote", g2, "garbage", ["a"]), ("model.shadow", g3, "garbage", ["b"]),
                     ("model.rollback", g2, "garbage", ["a"]), ("model.rollback", g1, "garbage", []),
                     ("model.rollback", street, None, [])]


def test_a_version_naming_the_main_models_key_wins_over_one_for_every_cameras_model(database_url):
    db = Database(database_url)
    db.upgrade()
    cams = cameras("a")
    with db.session() as s:
        own, named = add(s, "street"), add(s, "yolox", "default")
        service.promote(s, own, None, "ops", None, cams)
        service.promote(s, named, None, "ops", None, cams)
        rows = service.running(s)
        assert state(s, own) == ("active", [])
        assert service.model_assignment(rows, "a", "default", main=True).active.ref == named
        assert service.model_assignment(rows, "a", "default", main=False).active.ref == named
        service.rollback(s, None, "ops", None, cams, slot="default")
        assert service.model_assignment(service.running(s), "a", "default", main=True).active.ref == own


def config(tmp: Path) -> Path:
    path = tmp / "sw.yaml"
    path.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
        "models": {"default": {"path": model_file(YOLOX), "threads": 1}, "garbage": {"path": model_file(YOLOV8)}},
        "cameras": [{"id": "west-gate", "source": "unused.avi"},
                    {"id": "east-lane", "source": "unused.avi", "extra_models": ["garbage"]}]}), encoding="utf-8")
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


def test_cli_slots_and_their_one_line_errors(tmp_path):
    cfg = config(tmp_path)
    out = ok(cfg, "models", "register", model_file(YOLOX), "--name", "bins", "--slot", "garbage")
    assert "registered bins@1" in out and "for slot garbage" in out
    register = ("models", "register", model_file(YOLOX), "--name")
    cases = [
        ((*register, "bins2", "--slot", "trash"), ["--slot: 'trash' is not a key of `models`", "(keys: default, garbage)"]),
        ((*register, "bins"), ["bins@1 stands in for slot garbage and this one for the cameras' own model", "own --name"]),
        ((*register, "bins", "--slot", "default"), ["bins@1 stands in for slot garbage and this one for slot default"]),
        (("models", "promote", "bins@1", "--cameras", "west-gate"),
         ["--cameras: camera west-gate does not run slot garbage (its models: default)"]),
        (("models", "shadow", "bins@1", "--cameras", "east-lane,west-gate"), ["camera west-gate does not run slot garbage"]),
        (("models", "rollback", "--slot", "trash"), ["--slot: 'trash' is not a key of `models`"]),
        (("models", "rollback", "--slot", "garbage"), ["nothing to roll back: no version of slot garbage is active"]),
    ]
    for args, words in cases:
        r = sw(cfg, *args)
        lines = error_lines(r)
        assert r.returncode == 2 and len(lines) == 1 and all(w in lines[0] for w in words), (args, r.stderr[-2000:])
    assert "bins@1 is active on east-lane for slot garbage" in ok(cfg, "models", "promote", "bins@1", "--cameras", "east-lane")
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "street")
    ok(cfg, "models", "promote", "street@1")
    listed = ok(cfg, "models", "list")
    assert "registry bins@1 active [east-lane] yolox bins-v1.onnx" in listed
    assert [ln.rsplit(" slot ", 1)[1] for ln in listed.splitlines() if ln.startswith("registry")] == ["garbage", "(own model)"]
    rows = json.loads(ok(cfg, "models", "list", "--json"))["registry"]
    assert [(r["ref"], r["slot"], r["state"]) for r in rows] == [("bins@1", "garbage", "active"), ("street@1", None, "active")]
    out = ok(cfg, "models", "rollback", "--slot", "garbage", "--cameras", "east-lane", "--reason", "misses bins")
    assert "retired bins@1; the configuration's models run again" in out
    rows = json.loads(ok(cfg, "models", "list", "--json"))["registry"]
    assert [(r["ref"], r["state"]) for r in rows] == [("bins@1", "retired"), ("street@1", "active")]  # the main model's stays
    db = Database(load_settings(cfg).database_url)
    assert [(a, t, d.get("slot")) for a, t, _, d in audit_moves(db)] == [
        ("model.register", "bins@1", "garbage"), ("model.promote", "bins@1", "garbage"),
        ("model.register", "street@1", None), ("model.promote", "street@1", None), ("model.rollback", "bins@1", "garbage")]


def api_setup(tmp: Path, name: str, slot: str | None = None):  # type: ignore[no-untyped-def]
    """Settings, database (with the review_support users) and one candidate version, for the API tests."""
    settings = load_settings(config(tmp))
    db = Database(settings.database_url)
    db.upgrade()
    add_users(db)
    with db.session() as s:
        return settings, db, add(s, name, slot)


def test_api_slots_name_the_field(tmp_path):
    settings, db, ref = api_setup(tmp_path, "bins", "garbage")
    with LiveServer(settings, db) as server:
        adm = server.client("adm")
        assert [(m["ref"], m["slot"]) for m in adm.get("/api/v1/models").json()["models"]] == [(ref, "garbage")]
        for path, body, code, words in [
            (f"/api/v1/models/{ref}/promote", {"cameras": ["west-gate"]}, "model_slot_not_run",
             "camera west-gate does not run slot garbage"),
            (f"/api/v1/models/{ref}/shadow", {"cameras": ["west-gate"]}, "model_slot_not_run", "does not run slot garbage"),
            ("/api/v1/models/rollback", {"slot": "trash"}, "model_slot_unknown", "--slot: 'trash' is not a key of `models`"),
            ("/api/v1/models/rollback", {"slot": 7}, "invalid_request", "slot"),
        ]:
            r = adm.post(path, json=body)
            assert (r.status_code, r.json()["code"]) == (422, code) and words in r.json()["detail"], (path, r.text)
        assert adm.post("/api/v1/models/rollback", json={"slot": 7}).json()["errors"][0]["field"] == "body.slot"
        r = adm.post(f"/api/v1/models/{ref}/promote", json={"cameras": ["east-lane"]})
        assert r.status_code == 200 and (r.json()["state"], r.json()["slot"]) == ("active", "garbage")
        r = adm.post("/api/v1/models/rollback", json={"cameras": ["east-lane"]})  # the main model: nothing active
        assert r.status_code == 409 and "give --slot" in r.json()["detail"]
        r = adm.post("/api/v1/models/rollback", json={"cameras": ["east-lane"], "slot": "garbage", "reason": "undo"})
        assert r.status_code == 200 and r.json()["state"] == "retired"
    assert [(a, d.get("slot")) for a, _, _, d in audit_moves(db)][1:] == [("model.promote", "garbage"),
                                                                          ("model.rollback", "garbage")]


def test_api_admin_only_same_rules_and_audit(tmp_path):
    settings, db, ref = api_setup(tmp_path, "street")
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
    for code in [*STATUS, "model_wrong_family", "model_wrong_slot"]:
        assert text.count(f"err_{code}:") == 2, code  # zh-CN and en
