"""The model registry on a camera's extra model (`cameras[].extra_models`, registry slot `garbage`), with
real models and footage: promote and rollback switch the extra model of a RUNNING `streetwarden worker`
without a restart, its candidates name the registry version, the camera's own model keeps its active
version; and shadows of the slot run in place of the extra model on vtest.avi, recorded apart.

No trained garbage model ships in ../shared: the `garbage` entry of `models` is the YOLOv8n int8 file
and the versions registered for the slot are real files of both families. The camera's own model runs
at a score threshold above any YOLOX-Nano score, so whatever is raised was seen by the extra model
(or by what stands in for it), and the candidate names that one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from streetwarden.config import load_settings
from streetwarden.store.db import Database
from streetwarden.store.model_registry.models import ModelVersion, ShadowCandidate
from streetwarden.store.schema import Candidate
from tests.conftest import shared_path
from tests.enforcement_support import vtest_frame
from tests.registry_support import YOLOV8, YOLOX, audit_moves, model_file, ok
from tests.scenes import iou
from tests.test_model_switch_live import (SHIFTS, SlidingCamera, in_zone_models, log_events, raised,
                                          switch_twice, zone)
from tests.test_pipeline_vtest import WALK

BLIND = 0.99  # above any YOLOX-Nano score: a model at this threshold sees nothing


def write_config(tmp: Path, cameras: list[dict], **extra: object) -> Path:
    cfg = tmp / "sw.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
        "models": {"default": {"path": model_file(YOLOX), "threads": 1, "score_threshold": BLIND},
                   "garbage": {"path": model_file(YOLOV8), "threads": 1}},
        "cameras": [{"extra_models": ["garbage"], **c} for c in cameras], **extra}), encoding="utf-8")
    return cfg


def registry(cfg: Path) -> dict[str, tuple[str, str | None]]:
    return {r["ref"]: (r["state"], r["slot"]) for r in json.loads(ok(cfg, "models", "list", "--json"))["registry"]}


def test_promote_and_rollback_of_an_extra_model_switch_a_running_worker(tmp_path, vtest_path):
    camera = SlidingCamera(vtest_frame(vtest_path))
    cfg = write_config(tmp_path, [{"id": "west-gate", "source": camera.url, "analysis_fps": 2,
                                   "zones": [zone(z, s) for z, s in SHIFTS.items()]}], cluster={"health_port": 0})
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "street", "--score-threshold", str(BLIND))
    ok(cfg, "models", "promote", "street@1")  # the camera's own model has an active version of its own
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "bins", "--slot", "garbage")
    db = Database(load_settings(cfg).database_url)
    log = tmp_path / "worker.log"
    switch_twice(cfg, camera, db, log, ["promote", "bins@1", "--cameras", "west-gate", "--actor", "ops", "--reason", "trial"],
                 ["rollback", "--slot", "garbage", "--cameras", "west-gate", "--actor", "ops", "--reason", "back"],
                 lambda: [e for e in log_events(log, "model_switched") if e.get("slot") == "garbage"])
    v8 = YOLOV8
    switched = [(e.get("slot"), e["previous"], e["model"]) for e in log_events(log, "model_switched")]
    assert switched == [(None, YOLOX, "street@1"), ("garbage", v8, "bins@1"), ("garbage", "bins@1", v8)]
    assert len(log_events(log, "camera_started")) <= 1  # never restarted
    assert {z: in_zone_models(raised(db), z) for z in SHIFTS} == {"a": {v8}, "b": {"bins@1"}, "c": {v8}}
    with db.session() as s:
        bins = s.scalar(select(ModelVersion).where(ModelVersion.name == "bins"))
        b = [c for c in s.scalars(select(Candidate).where(Candidate.zone_id == "b"))]
        assert {c.attributes["model_sha256"] for c in b} == {bins.sha256}
    assert registry(cfg) == {"street@1": ("active", None), "bins@1": ("retired", "garbage")}
    moves = [(a, t, actor, d.get("slot"), d.get("reason")) for a, t, actor, d in audit_moves(db) if a != "model.register"]
    assert [m[:2] + m[3:4] for m in moves] == [("model.promote", "street@1", None), ("model.promote", "bins@1", "garbage"),
                                               ("model.rollback", "bins@1", "garbage")]
    assert [m[2:] for m in moves[1:]] == [("ops", "garbage", "trial"), ("ops", "garbage", "back")]


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory):
    """vtest.avi once through, the parked van in the zone: `seer` (the YOLOv8n file, as configured) and
    `blind` (YOLOX at BLIND) shadow the garbage slot."""
    tmp = tmp_path_factory.mktemp("slot-shadow")
    cfg = write_config(tmp, [{"id": "west-gate", "source": str(shared_path("media", "vtest.avi")), "analysis_fps": 1,
                              "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30, "polygon": WALK}]}])
    ok(cfg, "models", "register", model_file(YOLOV8), "--name", "seer", "--slot", "garbage")
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "blind", "--slot", "garbage", "--score-threshold", str(BLIND))
    ok(cfg, "models", "shadow", "seer@1", "--cameras", "west-gate")
    ok(cfg, "models", "shadow", "blind@1", "--cameras", "west-gate")
    ok(cfg, "run", "--once")
    db = Database(load_settings(cfg).database_url)
    with db.session() as s:
        cands = s.scalars(select(Candidate).order_by(Candidate.id)).all()
        shadows = s.scalars(select(ShadowCandidate).order_by(ShadowCandidate.id)).all()
        ids = {r.name: r.id for r in s.scalars(select(ModelVersion))}
    return cfg, cands, shadows, ids


def test_a_shadow_of_the_slot_stands_in_for_the_extra_model(shadowed):
    cfg, cands, shadows, ids = shadowed
    # the queue: the configured extra model's van, nothing of either shadow
    assert len(cands) == 1 and cands[0].attributes["model"] == YOLOV8, [(c.label, c.box) for c in cands]
    seer = [sh for sh in shadows if sh.model_version_id == ids["seer"]]
    # seer stands in for the same file: the same van; blind sees nothing, and it replaces the extra
    # model rather than joining it (beside the YOLOv8n file it would have raised the van too)
    assert len(seer) == 1 and iou(seer[0].box, cands[0].box) > 0.9 and seer[0].violation == cands[0].violation
    assert {sh.model_version_id for sh in shadows} == {ids["seer"]}


def test_the_shadow_report_of_an_extra_slot_version(shadowed):
    cfg, cands, shadows, ids = shadowed
    seer = json.loads(ok(cfg, "models", "shadow-report", "seer@1", "--json"))
    assert (seer["slot"], seer["cameras"], seer["shadow_candidates"], seer["active_candidates"]) == \
        ("garbage", ["west-gate"], 1, 1)
    assert seer["agreement"] == {"total": 1, "confirmed": 0, "rejected": 0, "pending": 1}
    assert seer["would_have_added"] == 0
    blind = json.loads(ok(cfg, "models", "shadow-report", "blind@1", "--json"))
    assert (blind["shadow_candidates"], blind["agreement"]["total"], blind["unmatched_pending"]) == (0, 0, 1)
    assert "for slot garbage" in ok(cfg, "models", "shadow-report", "blind@1")
