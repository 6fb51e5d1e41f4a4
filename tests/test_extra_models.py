"""Extra models beside a camera's own (``cameras[].extra_models``): the merge of two models'
detections of one frame, a once-mode worker on vtest.avi with YOLOX plus the YOLOv8n int8 file,
which model each candidate names, and the config errors.

Both COCO files run for real. No trained garbage model ships in ../shared, so the garbage model's
detections are those test_bin_overflow.py uses: real garbage-cn crops pasted into a real vtest
frame, with their real boxes and the garbage model's label table.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from streetwarden.config import ConfigError, ZoneConfig, load_settings, parse_settings
from streetwarden.detectors import CameraEngine
from streetwarden.models import OnnxDetector
from streetwarden.models.detections import Detections, box_iou, merge
from streetwarden.models.store import sha256_file
from streetwarden.pipeline.extra_models import join, raiser
from streetwarden.pipeline.model_switch import Choice
from streetwarden.pipeline.worker import Worker
from streetwarden.store.camera_settings import load_camera_configs, sync_camera_settings
from streetwarden.store.cameras import sync_cameras
from streetwarden.store.db import Database
from streetwarden.store.schema import Candidate
from tests.conftest import shared_path
from tests.scenes import garbage_classes, garbage_crop, iou, opened, paste, vtest_frames
from tests.test_pipeline_vtest import VAN, WALK, cli, write_config

IOU = 0.45  # the runtime's NMS IoU (models.<key>.nms_iou default)
YOLOX, V8 = "yolox_nano_coco_416.onnx", "yolov8n_coco_int8_640.onnx"


@pytest.fixture(scope="module")
def v8(yolov8_path):
    return OnnxDetector(yolov8_path)


def check_merged(parts: list[Detections], merged: Detections, origin: np.ndarray) -> None:
    """What merge promises, on any input: every label of every part is in the table, every box is
    either kept as it was or beaten by an overlapping box of the same label from another part, and
    no two kept boxes of different parts with one label overlap at IoU >= IOU."""
    names = merged.label_names()
    for p in parts:
        assert set(p.labels) <= set(merged.labels)
    for k, p in enumerate(parts):
        for box, score, name in zip(p.xyxy, p.score, p.label_names()):
            same = [j for j, n in enumerate(names) if n == name]
            kept = [j for j in same if origin[j] == k and np.array_equal(merged.xyxy[j], box) and merged.score[j] == score]
            beaten = [j for j in same if origin[j] != k and iou(merged.xyxy[j], box) >= IOU and merged.score[j] >= score]
            assert kept or beaten, (k, name, box, score)
    for a in range(len(merged)):
        for b in range(a + 1, len(merged)):
            if names[a] == names[b] and origin[a] != origin[b]:
                assert iou(merged.xyxy[a], merged.xyxy[b]) < IOU, (names[a], merged.xyxy[a], merged.xyxy[b])


def test_merge_bus_photo_keeps_each_object_once_at_the_higher_score(yolox, v8):
    image = cv2.imread(str(shared_path("media", "bus.jpg")))
    a, b = yolox.detect(image), v8.detect(image)
    assert set(a.label_names()) == set(b.label_names()) == {"bus", "person"}  # both see the bus and the people
    merged, origin = merge([a, b], IOU)
    check_merged([a, b], merged, origin)
    assert merged.labels == a.labels  # the same COCO table: no name added, ids unchanged
    # each model's bus and each person is one object: as many boxes as one model gives, not the sum
    assert len(merged) == max(len(a), len(b)) < len(a) + len(b)
    for name in ("bus", "person"):
        pa = a.with_labels([name])
        pb = b.with_labels([name])
        pairs = box_iou(pa.xyxy, pb.xyxy) >= IOU
        for i, j in zip(*np.nonzero(pairs)):
            best = max(pa.score[i], pb.score[j])
            close = [s for bx, s, n in zip(merged.xyxy, merged.score, merged.label_names())
                     if n == name and iou(bx, pa.xyxy[i]) >= IOU]
            assert close == [best], (name, pa.xyxy[i], close, best)
    # the bus: YOLOX scores it higher; the man on the right: YOLOv8 does
    bus = int(np.flatnonzero(np.array(merged.label_names()) == "bus")[0])
    assert origin[bus] == 0 and merged.score[bus] == a.with_labels(["bus"]).score.max()
    right = int(np.argmax([iou(bx, (672, 372, 810, 879)) for bx in merged.xyxy]))
    assert origin[right] == 1


def test_merge_keeps_boxes_of_different_labels(yolox, v8):
    """The parked van: YOLOX calls it car (and truck), YOLOv8 truck. Boxes of one object under
    different names are all kept (the tracker groups car/truck; merge does not rename)."""
    _, image = vtest_frames(2.0)[0]
    a, b = yolox.detect(image), v8.detect(image)
    car = a.with_labels(["car"])[[int(np.argmax([iou(x, VAN) for x in a.with_labels(["car"]).xyxy]))]]
    truck = b.with_labels(["truck"])[[int(np.argmax([iou(x, VAN) for x in b.with_labels(["truck"]).xyxy]))]]
    assert iou(car.xyxy[0], VAN) > 0.5 and iou(truck.xyxy[0], VAN) > 0.5 and iou(car.xyxy[0], truck.xyxy[0]) >= IOU
    merged, origin = merge([car, truck], IOU)
    assert merged.label_names() == ["car", "truck"] and origin.tolist() == [0, 1]
    # the whole frame: every rule of merge holds, and the van keeps both names
    merged, origin = merge([a, b], IOU)
    check_merged([a, b], merged, origin)
    on_van = {n for bx, n in zip(merged.xyxy, merged.label_names()) if iou(bx, VAN) > 0.5}
    assert on_van == {"car", "truck"}


@pytest.fixture(scope="module")
def garbage_scene(yolox):
    """A vtest frame with a real pile of rubbish and an overflowing bin pasted in (garbage-cn),
    YOLOX's detections of it, and the garbage model's (their boxes, its table)."""
    _, image = vtest_frames(2.0)[20]
    image, pile = paste(image, garbage_crop(100, 100, "garbage"), 620, 400)
    image, full = paste(image, garbage_crop(100, 100, "overflow"), 40, 400)
    names = garbage_classes()
    garbage = Detections(np.stack([pile, full]), np.array([0.8, 0.7], np.float32),
                         np.array([names.index("garbage"), names.index("overflow")], np.int64), names)
    return image, yolox.detect(image), garbage, pile


def test_merge_union_of_label_tables(garbage_scene):
    _, coco, garbage, _ = garbage_scene
    merged, origin = merge([coco, garbage], IOU)
    check_merged([coco, garbage], merged, origin)
    assert merged.labels == coco.labels + garbage_classes()  # the model's table first: its ids unchanged
    assert merged.label_names() == coco.label_names() + ["garbage", "overflow"]
    assert origin.tolist() == [0] * len(coco) + [1, 1]
    assert merge([Detections.empty(coco.labels), Detections.empty(garbage.labels)])[0].labels == merged.labels


def test_candidate_names_the_model_whose_box_raised_it(garbage_scene):
    """Rubbish in a no-dumping zone, found by the garbage model beside YOLOX: the dumping candidate
    names the garbage model; what YOLOX raises in the same frames names YOLOX."""
    image, coco, garbage, pile = garbage_scene
    own, extra = Choice("default", YOLOX, "a" * 64), Choice("garbage", "garbage.onnx", "b" * 64)
    dets, sources = join(coco, [garbage], (extra,), IOU)
    zones = [ZoneConfig(id="grass", kind="no_dumping", polygon=[[0.55, 0.55], [1.0, 0.55], [1.0, 1.0], [0.55, 1.0]],
                        dwell_seconds=10),
             ZoneConfig(id="walk-1", kind="sidewalk", polygon=WALK, dwell_seconds=10)]
    engine = CameraEngine("cam", zones, live=False)
    raised = []
    for ts in range(0, 30, 2):
        raised += [(e, raiser(e, dets, sources, own)) for e in opened(engine.process(float(ts), image, dets))]
    by_violation = {e.violation: (e, who) for e, who in raised}
    assert set(by_violation) >= {"illegal_dumping", "sidewalk_parking"}, [(e.violation, e.label) for e, _ in raised]
    dumping, who = by_violation["illegal_dumping"]
    assert dumping.label == "garbage" and iou(dumping.box, pile) > 0.9 and who == extra
    parking, who = by_violation["sidewalk_parking"]
    assert iou(parking.box, VAN) > 0.5 and who == own


# ---------------------------------------------------------------- the worker on vtest.avi
def run_worker(tmp, models: dict, extra: list[str], gating: bool = False) -> list[Candidate]:
    settings = parse_settings({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"), "models": models,
        "gating": {"enabled": gating},
        "cameras": [{"id": "west-gate", "source": str(shared_path("media", "vtest.avi")), "analysis_fps": 2,
                     "extra_models": extra,
                     "zones": [{"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30, "polygon": WALK}]}],
    }, base_dir=tmp)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db, once=True)
    assert set(worker.detectors) == {"default", *extra}
    calls: dict[str, int] = {}
    for key, det in worker.detectors.items():  # count the frames each model was given
        batch = det.detect_prepared
        det.detect_prepared = lambda p, key=key, batch=batch: (calls.__setitem__(key, calls.get(key, 0) + len(p)), batch(p))[1]
    stats = worker.run()
    skips = sum(r.record.model_skips for r in worker.runners)
    assert (skips > 0) == gating  # the quiet corner of the van: the gate skips most frames
    assert calls["default"] == stats["frames"] - skips
    for key in extra:
        assert calls[key] == calls["default"], calls  # every analysed frame went to the extra model too
    with db.session() as s:
        return list(s.scalars(select(Candidate)).all())


def test_worker_with_an_extra_model_raises_the_van_once(tmp_path, yolox_path, yolov8_path):
    models = {"default": {"path": YOLOX}, "v8": {"path": V8}}
    cands = run_worker(tmp_path, models, ["v8"])
    assert len(cands) == 1, [(c.label, c.box) for c in cands]
    c = cands[0]
    assert c.violation == "sidewalk_parking" and c.label in {"truck", "car"} and iou(c.box, VAN) >= 0.7
    assert c.first_seen <= 1.0 and c.last_seen >= 78.0  # as without the extra model (test_pipeline_vtest.py)
    # both models see the van; the candidate names one of them, with that file's checksum
    assert (c.attributes["model"], c.attributes["model_sha256"]) in {
        (YOLOX, sha256_file(yolox_path)), (V8, sha256_file(yolov8_path))}


def test_van_seen_only_by_the_extra_model_names_it(tmp_path, yolov8_path):
    """YOLOX at a threshold above any of its scores sees nothing: the van is still raised, once,
    from the extra model's boxes, and the candidate names the extra model. With the motion gate on:
    a frame it skips skips the extra model too, and carries the extra model's boxes forward."""
    models = {"default": {"path": YOLOX, "score_threshold": 0.99}, "v8": {"path": V8}}
    cands = run_worker(tmp_path, models, ["v8"], gating=True)
    assert len(cands) == 1 and iou(cands[0].box, VAN) >= 0.7, [(c.label, c.box) for c in cands]
    assert cands[0].attributes["model"] == V8 and cands[0].attributes["model_sha256"] == sha256_file(yolov8_path)


# ---------------------------------------------------------------- configuration
MODELS = {"default": {"path": YOLOX}, "v8": {"path": V8}, "v8b": {"path": V8}, "v8c": {"path": V8}}


@pytest.mark.parametrize("extra, expected", [
    (["v8", "big"], "cameras[0](west-gate).extra_models[1]: model 'big' is not in `models` (default, v8, v8b, v8c)"),
    (["default"], "cameras[0](west-gate).extra_models[0]: 'default' is the camera's own `model`"),
    (["v8", "v8b", "v8"], "cameras[0](west-gate).extra_models[2]: 'v8' is listed twice"),
    (["v8", "v8b", "v8c", "v8d"], "cameras[0](west-gate).extra_models: at most 3 extra models per camera"),
    ([7], "cameras[0](west-gate).extra_models[0]: Input should be a valid string"),
])
def test_bad_extra_models_name_the_field(tmp_path, extra, expected):
    config = write_config(tmp_path, [], models=MODELS)
    data = config.read_text().replace("analysis_fps: 2", f"analysis_fps: 2\n  extra_models: {extra}")
    config.write_text(data)
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and expected in lines[0], lines


def test_bad_extra_model_on_the_command_line(tmp_path):
    config = write_config(tmp_path, [], models=MODELS)
    config.write_text(config.read_text().replace("analysis_fps: 2", "analysis_fps: 2\n  extra_models: [garbage]"))
    result = cli("run", "--config", str(config), "--once")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cameras[0](west-gate).extra_models[0]: model 'garbage' is not in `models`" in result.stderr


def test_extra_models_documented_and_stored_with_the_camera(tmp_path):
    doc = cli("config-doc")
    assert doc.returncode == 0 and "cameras[].extra_models: Keys of more entries of `models`" in doc.stdout
    settings = parse_settings({"database": f"sqlite:///{tmp_path / 'sw.db'}", "models": MODELS,
                               "cameras": [{"id": "a", "source": "x.avi", "extra_models": ["v8", "v8c"]}]},
                              base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
        sync_camera_settings(s, settings)
    with db.session() as s:
        assert load_camera_configs(s, settings)["a"].extra_models == ["v8", "v8c"]
