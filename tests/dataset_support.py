"""A database of real reviewed candidates for the dataset tests: frames of two real clips
(../shared/media), boxes found by the real YOLOX-Nano on them, candidates written the way the worker
writes them, and decisions made through the real review API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from streetwarden.config import Settings, load_settings
from streetwarden.detectors.events import CandidateEvent, EvidenceImage
from streetwarden.store.cameras import sync_cameras
from streetwarden.store.candidates import CandidateWriter
from streetwarden.store.db import Database
from tests.enforcement_support import vtest_frame as frame_at  # reads frame N of any clip
from tests.review_support import LiveServer, add_users

DAY = 86400.0
T0 = 19_700 * DAY + 3600.0  # 01:00 UTC of one day; the second period is the next day
WHOLE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


@dataclass
class Raised:
    """One candidate of the test database and what the reviewer decided."""

    id: int
    camera: str
    label: str
    box: tuple[float, float, float, float]
    size: tuple[int, int]
    decision: dict | None  # body posted to the decision API; None = left pending


def write_config(tmp: Path, media: Path, database: str | None = None) -> Path:
    data = {
        "database": database or f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "storage"),
        "cameras": [
            {"id": "west-gate", "source": str(media / "vtest.avi"), "analysis_fps": 2,
             "zones": [{"id": "walk", "kind": "sidewalk", "polygon": WHOLE}]},
            {"id": "table-hall", "source": str(media / "one-by-one-person-detection.mp4"), "analysis_fps": 2,
             "zones": [{"id": "hall", "kind": "sidewalk", "polygon": WHOLE}]},
        ],
    }
    path = tmp / "sw.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def best_boxes(detector, image: np.ndarray, label: str, n: int) -> list[tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """The n highest-scoring boxes of ``label`` the real model finds (apart from each other)."""
    dets = detector.detect(image)
    names = dets.label_names()
    order = np.argsort(-dets.score)
    boxes = [tuple(float(v) for v in dets.xyxy[i]) for i in order if names[i] == label]
    assert len(boxes) >= n, f"the model found {len(boxes)} {label} boxes, the test needs {n}"
    return boxes[:n]  # type: ignore[return-value]


def _raise(db: Database, settings: Settings, camera: str, zone: str, image: np.ndarray, label: str,
           box: tuple[float, float, float, float], ts: float) -> int:
    b = np.array(box, np.float32)
    ev = CandidateEvent("open", f"{camera}-{ts}-{box[0]:.0f}", camera, zone, "sidewalk_parking", label, 0.8, b,
                        ts - 40.0, ts, False, (image.shape[1], image.shape[0]),
                        [EvidenceImage("clean", image, ts, None), EvidenceImage("frame", image, ts, b),
                         EvidenceImage("crop", image, ts, b, crop=True)])
    with db.session() as s:
        row, _ = CandidateWriter(settings.storage_path, window_seconds=0.0).apply(s, ev)
        return row.id


WARN = {"decision": "warn"}
CASE = {"decision": "case"}
FALSE = {"decision": "reject", "reason": "false_detection"}
ALLOWED = {"decision": "reject", "reason": "not_a_violation"}


def build_reviewed_db(tmp: Path, media: Path, detector,  # type: ignore[no-untyped-def]
                      database: str | None = None) -> tuple[Path, Settings, list[Raised]]:
    """The config file, its settings and every candidate raised (decided through the API)."""
    config = write_config(tmp, media, database)
    settings = load_settings(config)
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    plan = [  # camera, zone, clip, frame index, label, boxes wanted, day, decisions
        ("west-gate", "walk", "vtest.avi", 100, "person", 1, 0, [WARN]),
        ("west-gate", "walk", "vtest.avi", 250, "person", 2, 0, [WARN, FALSE]),  # one frame, two candidates
        ("west-gate", "walk", "vtest.avi", 400, "person", 1, 0, [FALSE]),
        ("west-gate", "walk", "vtest.avi", 550, "person", 1, 1, [CASE]),
        ("west-gate", "walk", "vtest.avi", 700, "person", 1, 1, [ALLOWED]),
        ("west-gate", "walk", "vtest.avi", 620, "person", 1, 1, [None]),
        ("west-gate", "walk", "vtest.avi", 550, "car", 1, 1, [WARN]),  # the same frame as a person: one image
        ("table-hall", "hall", "one-by-one-person-detection.mp4", 116, "person", 1, 0, [WARN]),
        ("table-hall", "hall", "one-by-one-person-detection.mp4", 232, "person", 1, 0, [CASE]),
        ("table-hall", "hall", "one-by-one-person-detection.mp4", 580, "person", 1, 1, [WARN]),
        ("table-hall", "hall", "one-by-one-person-detection.mp4", 696, "person", 1, 1, [FALSE]),
    ]
    raised: list[Raised] = []
    for k, (camera, zone, clip, index, label, n, day, decisions) in enumerate(plan):
        image = frame_at(media / clip, index)
        for j, (box, decision) in enumerate(zip(best_boxes(detector, image, label, n), decisions)):
            cid = _raise(db, settings, camera, zone, image, label, box, T0 + day * DAY + k * 300 + j)
            raised.append(Raised(cid, camera, label, box, (image.shape[1], image.shape[0]), decision))
    # the first west-gate frame again, a minute later and a shade brighter: a near-duplicate
    again = np.clip(frame_at(media / "vtest.avi", 100).astype(np.int16) + 2, 0, 255).astype(np.uint8)
    box = best_boxes(detector, again, "person", 1)[0]
    cid = _raise(db, settings, "west-gate", "walk", again, "person", box, T0 + 60.0)
    raised.append(Raised(cid, "west-gate", "person", box, (again.shape[1], again.shape[0]), WARN))
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        for r in raised:
            if r.decision is not None:
                resp = rev.post(f"/api/v1/candidates/{r.id}/decision", json=r.decision)
                assert resp.status_code == 200, resp.text
    return config, settings, raised
