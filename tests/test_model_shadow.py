"""Shadow mode on recorded footage (vtest.avi, the parked van and car): the shadow models' would-be
candidates are recorded and never queued (no candidate, notice or webhook of theirs), and the
shadow report's numbers follow from the reviewers' decisions made through the real review API.

Two shadows of the same YOLOX file, with different score thresholds, make the report's outcomes
known by construction: `same` sees what the active model sees; `strict` (threshold 0.99, above any
YOLOX-Nano score) raises nothing. A second camera runs a configured model with that strict
threshold, so there `same` raises what the active model never did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from streetwarden.config import load_settings
from streetwarden.store.db import Database
from streetwarden.store.model_registry.models import ShadowCandidate
from streetwarden.store.notice_schema import Notice
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.schema import Candidate
from tests.conftest import shared_path
from tests.registry_support import YOLOX, audit_moves, model_file, ok
from tests.review_support import LiveServer, add_users
from tests.scenes import iou

TOP = [[0.6, 0.0], [1.0, 0.0], [1.0, 0.25], [0.6, 0.25]]  # the parked van and car, top right


def write_config(tmp: Path) -> Path:
    zone = [{"id": "top", "kind": "sidewalk", "dwell_seconds": 20, "polygon": TOP}]
    clip = str(shared_path("media", "vtest.avi"))
    data = {"database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
            "server": {"undo_seconds": 0},
            "models": {"default": {"path": model_file(YOLOX), "threads": 1},
                       "strict": {"path": model_file(YOLOX), "threads": 1, "score_threshold": 0.99}},
            "cameras": [{"id": "west-gate", "source": clip, "analysis_fps": 1, "zones": zone},
                        {"id": "east-gate", "model": "strict", "source": clip, "analysis_fps": 1, "zones": zone}]}
    path = tmp / "sw.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shadow")
    cfg = write_config(tmp)
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "same", "--score-threshold", "0.25")
    ok(cfg, "models", "register", model_file(YOLOX), "--name", "strict", "--score-threshold", "0.99")
    ok(cfg, "models", "shadow", "same@1", "--cameras", "west-gate,east-gate", "--reason", "compare")
    ok(cfg, "models", "shadow", "strict@1", "--cameras", "west-gate")
    ok(cfg, "run", "--once")
    settings = load_settings(cfg)
    db = Database(settings.database_url)
    with db.session() as s:
        cands = s.scalars(select(Candidate).order_by(Candidate.id)).all()
        shadows = s.scalars(select(ShadowCandidate).order_by(ShadowCandidate.id)).all()
    return cfg, settings, db, cands, shadows


def report(cfg: Path, ref: str) -> dict:
    return json.loads(ok(cfg, "models", "shadow-report", ref, "--json"))


def test_shadow_candidates_are_recorded_never_queued(shadowed):
    cfg, settings, db, cands, shadows = shadowed
    # the active model raised the van and the car on west-gate; the strict configured model nothing on east-gate
    assert {c.camera_id for c in cands} == {"west-gate"} and len(cands) >= 2, [(c.camera_id, c.label) for c in cands]
    assert all(c.attributes["model"] == YOLOX for c in cands)
    same = {sh.camera_id: [] for sh in shadows}
    for sh in shadows:
        same[sh.camera_id].append(sh)
    assert {sh.model_version_id for sh in shadows} == {1}  # only `same@1`; `strict@1` would raise nothing
    # on west-gate the shadow (same file) saw what the active model saw, box for box
    west = same["west-gate"]
    assert len(west) == len(cands)
    assert all(max(iou(sh.box, c.box) for c in cands) > 0.9 for sh in west)
    assert len(same["east-gate"]) == len(cands)  # the same scene on the other camera
    with db.session() as s:  # nothing of a shadow in the queue, the notices or the outbox
        assert s.scalars(select(Candidate.camera_id).distinct()).all() == ["west-gate"]
        assert s.scalars(select(Notice)).all() == [] and s.scalars(select(OutboxMessage)).all() == []


def test_report_follows_the_reviewers_decisions(shadowed):
    cfg, settings, db, cands, shadows = shadowed
    add_users(db)
    confirmed, rejected = cands[:1], cands[1:]
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        for c in confirmed:
            assert rev.post(f"/api/v1/candidates/{c.id}/decision", json={"decision": "warn"}).status_code == 200
        for c in rejected:
            r = rev.post(f"/api/v1/candidates/{c.id}/decision", json={"decision": "reject", "reason": "false_detection"})
            assert r.status_code == 200, r.text
        queue = rev.get("/api/v1/candidates", params={"limit": 200}).json()["items"]
    assert sorted(c["id"] for c in queue) == [c.id for c in cands]  # the queue holds the active model's only
    with db.session() as s:
        assert [n.candidate_id for n in s.scalars(select(Notice)).all()] == [c.id for c in confirmed]
    east = sum(sh.camera_id == "east-gate" for sh in shadows)
    same = report(cfg, "same@1")
    assert same["cameras"] == ["east-gate", "west-gate"]
    assert same["agreement"] == {"total": len(cands), "confirmed": len(confirmed), "rejected": len(rejected), "pending": 0}
    assert (same["would_have_added"], same["would_have_avoided"], same["would_have_missed"]) == (east, 0, 0)
    assert same["by_camera"]["east-gate"]["would_have_added"] == east and east > 0
    assert same["by_camera"]["west-gate"]["would_have_added"] == 0
    strict = report(cfg, "strict@1")
    assert strict["shadow_candidates"] == 0 and strict["agreement"]["total"] == 0
    assert (strict["would_have_added"], strict["would_have_avoided"], strict["would_have_missed"]) == \
        (0, len(rejected), len(confirmed))
    assert sorted(strict["details"]["avoided"]) == [c.id for c in rejected]
    assert strict["details"]["missed"] == [c.id for c in confirmed]
    text = ok(cfg, "models", "shadow-report", "strict@1")
    assert f"would have avoided {len(rejected)}" in text and f"would have missed {len(confirmed)}" in text
    assert [(a, t) for a, t, _, _ in audit_moves(db)][-2:] == [("model.shadow", "same@1"), ("model.shadow", "strict@1")]
