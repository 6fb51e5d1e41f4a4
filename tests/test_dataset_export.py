"""`streetwarden dataset export` on a database of real reviewed candidates (real footage, real model
boxes, decisions through the real review API)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from streetwarden.cli import main
from tests.conftest import shared_path
from tests.dataset_support import ALLOWED, FALSE, Raised, build_reviewed_db


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, yolox):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("reviewed")
    return build_reviewed_db(tmp, shared_path("media"), yolox)


def _export(config: Path, out: Path, *extra: str) -> dict:
    assert main(["dataset", "export", "--config", str(config), "--out", str(out), *extra]) == 0
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _has_box(lines: list[str], r: Raised, cls: int) -> bool:
    """Whether a label line is the candidate's box (to half a pixel: the store keeps boxes rounded)."""
    w, h = r.size
    x1, y1, x2, y2 = r.box
    want = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
    for line in lines:
        c, *xywh = line.split()
        if int(c) == cls and all(abs(float(a) - b) * max(w, h) < 0.5 for a, b in zip(xywh, want)):
            return True
    return False


def test_export_labels_negatives_split_and_manifest(database_url, tmp_path, yolox) -> None:
    """On SQLite and on a real PostgreSQL server."""
    config, _, raised = build_reviewed_db(tmp_path, shared_path("media"), yolox, database_url)
    manifest = _export(config, tmp_path / "ds")
    out = tmp_path / "ds"
    assert manifest["classes"] == ["car", "person"]
    by_candidate = {c["id"]: (img, c) for img in manifest["images"] for c in img["candidates"]}
    dropped = [c for d in manifest["dropped"] for c in d["candidates"]]
    excluded = {e["candidate"] for e in manifest["excluded"]}
    near_dup, original = raised[-1], raised[0]
    assert dropped == [near_dup.id]
    assert manifest["dropped"][0]["of_candidates"] == [original.id]
    for r in raised:
        if r.decision is None:  # pending: not reviewed, not exported
            assert r.id not in by_candidate and r.id not in excluded and r.id not in dropped
        elif r.decision == ALLOWED:  # the object is real but allowed: neither positive nor negative
            assert r.id in excluded and r.id not in by_candidate
        elif r is not near_dup:
            img, entry = by_candidate[r.id]
            lines = (out / img["label"]).read_text().splitlines()
            cls = manifest["classes"].index(r.label)
            if r.decision == FALSE:  # rejected: only ever a negative, its box in no label file
                assert entry["role"] == "negative" and entry["class"] is None
                assert not _has_box(lines, r, cls)
            else:  # confirmed: its box, its class
                assert entry["role"] == "positive" and _has_box(lines, r, cls)
    # the frame with a confirmed and a rejected person holds exactly one box; a frame rejected alone is background
    roles = [sorted(c["role"] for c in img["candidates"]) for img in manifest["images"]]
    assert ["negative", "positive"] in roles
    for img in manifest["images"]:
        lines = (out / img["label"]).read_text().splitlines()
        assert len(lines) == sum(c["role"] == "positive" for c in img["candidates"])
        data = (out / img["image"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == img["sha256"]
        assert hashlib.sha256((out / img["label"]).read_bytes()).hexdigest() == img["label_sha256"]
        assert img["evidence_kind"] == "clean" and img["box_drawn"] is False
        assert img["image"].startswith(f"images/{img['split']}/") and img["label"].startswith(f"labels/{img['split']}/")
    # one camera-period never on both sides; both sides used; each camera's val comes after its train
    sides: dict[str, set[str]] = {}
    for img in manifest["images"]:
        sides.setdefault(img["unit"], set()).add(img["split"])
    assert all(len(s) == 1 for s in sides.values()), sides
    assert {s for v in sides.values() for s in v} == {"train", "val"}
    for camera in ("west-gate", "table-hall"):
        ts = {split: [i["ts"] for i in manifest["images"] if i["camera"] == camera and i["split"] == split]
              for split in ("train", "val")}
        assert ts["train"] and ts["val"] and max(ts["train"]) < min(ts["val"])
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    listed = {i["image"] for i in manifest["images"]} | {i["label"] for i in manifest["images"]}
    assert files == listed | {"data.yaml", "manifest.json"}
    # the export passes the import check
    assert main(["dataset", "import", str(out)]) == 0


def test_reexport_is_byte_identical(reviewed, tmp_path) -> None:
    config, _, _ = reviewed
    _export(config, tmp_path / "a")
    first = _tree(tmp_path / "a")
    _export(config, tmp_path / "b")
    _export(config, tmp_path / "a")  # over the earlier export
    assert _tree(tmp_path / "b") == first
    assert _tree(tmp_path / "a") == first


def test_filters_by_camera_and_time(reviewed, tmp_path) -> None:
    config, _, raised = reviewed
    manifest = _export(config, tmp_path / "hall", "--camera", "table-hall")
    assert {i["camera"] for i in manifest["images"]} == {"table-hall"}
    assert manifest["classes"] == ["person"]
    later = _export(config, tmp_path / "later", "--since", "2023-12-10")  # the second day (T0 is 2023-12-09)
    expected = {r.id for r in raised if r.decision is not None and r.decision != ALLOWED
                and r is not raised[-1]} & {c["id"] for i in later["images"] for c in i["candidates"]}
    assert expected and all(i["ts"] >= 19_701 * 86400 for i in later["images"])


def test_export_bad_input_one_line(reviewed, tmp_path, capsys) -> None:
    config, _, _ = reviewed
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["dataset", "export", "--config", str(config), "--out", str(busy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not empty" in err[0] and "manifest.json" in err[0]
    assert (busy / "notes.txt").read_text() == "mine"
    assert main(["dataset", "export", "--config", str(config), "--out", str(tmp_path / "x"), "--violation", "parking"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--violation" in err[0] and "sidewalk_parking" in err[0]


def _decided_by_the_worker(tmp_path: Path, vtest_path: Path):  # type: ignore[no-untyped-def]
    """A candidate written the way the worker writes one (real frame, real evidence writer), confirmed
    through the review API; returns (config file, database, settings, candidate id, the frame)."""
    import yaml

    from tests.enforcement_support import make_settings, open_db, raise_candidate, vtest_frame
    from tests.review_support import LiveServer, add_users

    settings = make_settings(tmp_path, str(vtest_path))
    db = open_db(settings)
    add_users(db)
    frame = vtest_frame(vtest_path)
    cid = raise_candidate(db, settings, frame)
    with LiveServer(settings, db) as server:
        assert server.client("rev1").post(f"/api/v1/candidates/{cid}/decision", json={"decision": "warn"}).status_code == 200
    config = tmp_path / "sw.yaml"
    config.write_text(yaml.safe_dump({"database": settings.database_url, "storage": str(settings.storage_path),
                                      "cameras": [{"id": "west-gate", "source": str(vtest_path)}]}))
    return config, db, settings, cid, frame


def _red(image):  # type: ignore[no-untyped-def]
    """Pixels of the drawn box's colour (BGR 0,0,255, allowing for JPEG)."""
    return (image[..., 2] > 180) & (image[..., 1] < 90) & (image[..., 0] < 90)


def test_the_store_keeps_a_clean_frame_and_export_uses_it(tmp_path, vtest_path, capsys) -> None:
    """The one evidence writer keeps the frame without the box beside the annotated one (with its
    sha256); the exported training picture is that clean frame: no red-box pixels where the annotated
    copy has them."""
    import cv2
    from sqlalchemy import select

    from streetwarden.store.schema import Evidence

    config, db, settings, cid, frame = _decided_by_the_worker(tmp_path, vtest_path)
    with db.session() as s:
        rows = {e.kind: e for e in s.scalars(select(Evidence).where(Evidence.candidate_id == cid))}
        assert {"frame", "clean", "crop", "first"} <= set(rows)
        clean, annotated = rows["clean"], rows["frame"]
        assert clean.ts == annotated.ts and (clean.width, clean.height) == (annotated.width, annotated.height)
        for e in (clean, annotated):
            assert hashlib.sha256((settings.storage_path / e.path).read_bytes()).hexdigest() == e.sha256
    capsys.readouterr()
    manifest = _export(config, tmp_path / "ds")
    assert "box drawn" not in capsys.readouterr().out
    [img] = manifest["images"]
    assert img["evidence_kind"] == "clean" and img["box_drawn"] is False and img["sha256"] == clean.sha256
    exported = cv2.imread(str(tmp_path / "ds" / img["image"]))
    drawn = cv2.imread(str(settings.storage_path / annotated.path))
    ring = _red(drawn) & ~_red(frame)  # where the drawn box turned the picture red
    assert ring.sum() > 200
    assert _red(exported)[ring].sum() == 0
    assert np.abs(exported.astype(np.int16) - frame.astype(np.int16)).mean() < 3  # the camera's frame, re-encoded once


def test_frames_with_a_drawn_box_are_used_and_flagged(tmp_path, vtest_path, capsys) -> None:
    """A candidate stored before the clean frame was kept has only `frame` evidence (box drawn):
    exported, and said so."""
    from sqlalchemy import delete

    from streetwarden.store.schema import Evidence

    config, db, _, cid, _ = _decided_by_the_worker(tmp_path, vtest_path)
    with db.session() as s:  # as in a database written before the store kept `clean` frames
        s.execute(delete(Evidence).where(Evidence.candidate_id == cid, Evidence.kind == "clean"))
    capsys.readouterr()
    manifest = _export(config, tmp_path / "ds")
    [img] = manifest["images"]
    assert img["evidence_kind"] == "frame" and img["box_drawn"] is True
    assert [c["id"] for c in img["candidates"]] == [cid]
    assert "1 of 1 images are `frame` evidence with the candidate's box drawn" in capsys.readouterr().out


def test_corrections_replace_the_detectors_label(tmp_path, yolox, capsys) -> None:
    """A corrected warn is labelled with the reviewer's box and class; a wrong-class reject (false_detection)
    with a corrected class gives a label of that class, not a hard negative; the manifest says who and when."""
    from sqlalchemy import select

    from streetwarden.config import load_settings
    from streetwarden.store.cameras import sync_cameras
    from streetwarden.store.db import Database
    from streetwarden.store.review import Decision
    from tests.dataset_support import T0, _raise, best_boxes, frame_at, write_config
    from tests.review_support import LiveServer, add_users

    media = shared_path("media")
    config = write_config(tmp_path, media)
    settings = load_settings(config)
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
    add_users(db)
    fixed_box = [0.25, 0.3, 0.5, 0.9]
    plan = [  # frame index, decision body
        (100, {"decision": "warn", "correction": {"label": "bicycle", "box": fixed_box}}),
        (400, {"decision": "reject", "reason": "false_detection", "correction": {"label": "suitcase"}}),
        (700, {"decision": "reject", "reason": "false_detection"}),
    ]
    ids, boxes = [], []
    for k, (index, _) in enumerate(plan):
        image = frame_at(media / "vtest.avi", index)
        [box] = best_boxes(yolox, image, "person", 1)
        ids.append(_raise(db, settings, "west-gate", "walk", image, "person", box, T0 + k * 3600))
        boxes.append(box)
        size = (image.shape[1], image.shape[0])
    with LiveServer(settings, db) as server:
        rev = server.client("rev1")
        for cid, (_, body) in zip(ids, plan):
            assert rev.post(f"/api/v1/candidates/{cid}/decision", json=body).status_code == 200
    with db.session() as s:
        decided_at = {d.candidate_id: d.decided_at for d in s.scalars(select(Decision))}
    out = tmp_path / "ds"
    capsys.readouterr()
    manifest = _export(config, out)
    assert "2 boxes (2 corrected by reviewers)" in capsys.readouterr().out
    assert manifest["classes"] == ["bicycle", "suitcase"]  # person is nowhere: both person boxes were corrected
    entries = {c["id"]: (img, c) for img in manifest["images"] for c in img["candidates"]}
    assert set(entries) == set(ids)
    corrected, wrong_class, negative = ids
    # the corrected warn: the reviewer's box and class, not the detector's
    img, entry = entries[corrected]
    [line] = (out / img["label"]).read_text().splitlines()
    w, h = size
    want = Raised(corrected, "west-gate", "bicycle", (fixed_box[0] * w, fixed_box[1] * h, fixed_box[2] * w,
                                                      fixed_box[3] * h), size, None)
    assert _has_box([line], want, manifest["classes"].index("bicycle"))
    assert not _has_box([line], Raised(corrected, "west-gate", "person", boxes[0], size, None), 0)
    assert entry["role"] == "positive" and entry["label"] == "bicycle" and entry["corrected"] is True
    assert entry["correction"]["by"] == "rev1" and entry["correction"]["at"] == decided_at[corrected]
    assert entry["correction"]["detector_label"] == "person"
    # the wrong-class reject: a label of the corrected class on the detector's box, not a negative
    img, entry = entries[wrong_class]
    lines = (out / img["label"]).read_text().splitlines()
    assert entry["role"] == "positive" and entry["class"] == manifest["classes"].index("suitcase")
    assert lines and _has_box(lines, Raised(wrong_class, "west-gate", "suitcase", boxes[1], size, None),
                              manifest["classes"].index("suitcase"))
    assert entry["correction"]["by"] == "rev1" and entry["correction"]["at"] == decided_at[wrong_class]
    # the plain false detection stays a hard negative: an empty label file, no correction recorded
    img, entry = entries[negative]
    assert entry["role"] == "negative" and (out / img["label"]).read_text() == ""
    assert entry["corrected"] is False and "correction" not in entry
