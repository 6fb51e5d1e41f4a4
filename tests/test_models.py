"""Both model families on real photos: same objects, boxes in source pixels, batching consistent."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from streetwarden.models import ModelError, OnnxDetector
from streetwarden.models.card import find_card
from streetwarden.models.families import guess_family
from streetwarden.store.evidence import sha256_file
from tests.conftest import REPO, shared_path
from tests.scenes import iou, vtest_frames

# Hand-checked positions in bus.jpg (810x1080): the bus and the three people standing in front.
BUS = (20, 230, 805, 750)
PEOPLE = [(50, 395, 240, 905), (220, 405, 345, 860), (670, 380, 810, 880)]


@pytest.fixture(scope="module")
def bus_image():
    return cv2.imread(str(shared_path("media", "bus.jpg")))


@pytest.mark.parametrize("model_name", ["yolox_nano_coco_416.onnx", "yolov8n_coco_int8_640.onnx"])
def test_bus_and_people_found_where_they_are(model_name, bus_image):
    det = OnnxDetector(shared_path("models", model_name))
    d = det.detect(bus_image)
    names = d.label_names()
    buses = [b for n, b in zip(names, d.xyxy) if n == "bus"]
    people = [b for n, b, s in zip(names, d.xyxy, d.score) if n == "person" and s >= 0.5]
    assert buses and max(iou(b, BUS) for b in buses) >= 0.8
    assert len(people) >= 3
    for expected in PEOPLE:
        assert max(iou(b, expected) for b in people) >= 0.6, expected
    assert d.xyxy.dtype == np.float32 and (d.xyxy[:, 2] <= 810.01).all() and (d.xyxy[:, 3] <= 1080.01).all()


def test_family_labels_and_card(yolox_path, yolov8_path):
    a, b = OnnxDetector(yolox_path), OnnxDetector(yolov8_path)
    assert a.family.name == "yolox" and b.family.name == "ultralytics"
    assert a.labels[0] == "person" and b.labels[7] == "truck"
    for path in (yolox_path, yolov8_path):
        card = find_card(path)
        assert card is not None and card.sha256 == sha256_file(path)
    assert guess_family([1, 3549, 85], 80) == "yolox"
    assert guess_family([1, 84, 8400], 80) == "ultralytics"


def test_family_from_onnx_metadata_without_card(tmp_path, yolov8_path):
    copy = tmp_path / "renamed_model.onnx"  # no card matches this name: metadata must tell
    copy.write_bytes(yolov8_path.read_bytes())
    det = OnnxDetector(copy)
    assert det.family.name == "ultralytics" and det.input_size == 640 and det.labels[5] == "bus"


def test_batch_equals_single(yolox_path, bus_image):
    """Frames in one batched call find what each finds alone; on the CPU a batch goes one frame per
    call by default (cheaper per frame there), and frames_per_call asks for the batched call."""
    zidane = cv2.imread(str(shared_path("media", "zidane.jpg")))
    images = [bus_image, zidane, bus_image[:, ::-1].copy()]
    batched_det = OnnxDetector(yolox_path, frames_per_call=8)
    default = OnnxDetector(yolox_path)
    assert batched_det.batchable and batched_det.frames_per_call == 8 and default.frames_per_call == 1
    calls = {"batched": [], "default": []}
    for key, det in (("batched", batched_det), ("default", default)):
        run = det.run_tensor
        det.run_tensor = lambda batch, run=run, key=key: calls[key].append(len(batch)) or run(batch)  # type: ignore[method-assign]
    batched, per_frame = batched_det(images), default(images)
    # (rectangular input: the two bus pictures share a shape, zidane's goes in a call of its own)
    assert sorted(calls["batched"]) == [1, 2] and calls["default"] == [1, 1, 1]
    for img, b, p in zip(images, batched, per_frame):
        single = batched_det.detect(img)
        assert len(single) == len(b) == len(p) > 0
        assert np.allclose(np.sort(single.score), np.sort(b.score), atol=1e-4)
        assert np.allclose(np.sort(single.score), np.sort(p.score), atol=1e-6)
    assert OnnxDetector(yolox_path, max_batch=2, frames_per_call=8).frames_per_call == 2  # never above max_batch


def test_score_threshold_and_nms(yolox_path, bus_image):
    loose = OnnxDetector(yolox_path, score_threshold=0.05).detect(bus_image)
    strict = OnnxDetector(yolox_path, score_threshold=0.6).detect(bus_image)
    assert len(strict) < len(loose) and (strict.score >= 0.6).all()
    # class-wise NMS: no two same-class boxes overlap more than the NMS IoU
    for c in set(loose.class_id.tolist()):
        boxes = loose.xyxy[loose.class_id == c]
        from streetwarden.models.detections import box_iou

        m = box_iou(boxes, boxes)
        np.fill_diagonal(m, 0)
        assert (m <= 0.45 + 1e-5).all()


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        OnnxDetector(tmp_path / "nope.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load model"):
        OnnxDetector(broken)


def test_cli_detect_json():
    out = subprocess.run(
        [sys.executable, "-m", "streetwarden", "detect", str(shared_path("media", "bus.jpg")),
         str(shared_path("media", "zidane.jpg")), "--model", "yolox_nano_coco_416.onnx", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["image"].rsplit("/", 1)[-1] for x in lines] == ["bus.jpg", "zidane.jpg"]
    bus = lines[0]["detections"]
    assert any(d["label"] == "bus" and iou(d["box"], BUS) >= 0.8 for d in bus)
    assert sum(d["label"] == "person" for d in lines[1]["detections"]) >= 2
    assert all(set(d) == {"label", "score", "box"} and len(d["box"]) == 4 for d in bus)


@pytest.mark.parametrize("model_name", ["yolox_nano_coco_416.onnx", "yolov8n_coco_int8_640.onnx"])
def test_pixel_input_graph_gives_the_plain_models_output(model_name, bus_image):
    """The uint8-pixel prefix (transpose, cast, scale inside onnxruntime) must not change the model."""
    import onnxruntime as ort

    from streetwarden.models.detector import _graph_bytes

    det = OnnxDetector(shared_path("models", model_name))
    assert det.pixel_input and det.session.get_inputs()[0].type == "tensor(uint8)"
    pixels, info = det.prepare(bus_image)
    # bus.jpg is 810x1080 (portrait): 416 high, 312 -> 320 wide where the graph runs rectangles
    expected_shape = (det.input_size, 320, 3) if det.rect else (det.input_size, det.input_size, 3)
    assert pixels.dtype == np.uint8 and pixels.shape == expected_shape
    plain = ort.InferenceSession(_graph_bytes(det.path, False, det.rect), providers=["CPUExecutionProvider"])
    tensor, _ = det.family.preprocess(bus_image, det.input_size, det.stride if det.rect else None)
    expected = plain.run(None, {plain.get_inputs()[0].name: tensor[None]})[0]
    got = det.run_tensor(pixels[None])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))


def _matched(a, b, min_score: float = 0.4) -> tuple[int, int]:
    """(detections of `a` scoring >= min_score, how many of them `b` has too: same class, IoU >= 0.8)."""
    total = hits = 0
    for box, score, cls in zip(a.xyxy, a.score, a.class_id):
        if score < min_score:
            continue
        total += 1
        hits += any(c == cls and iou(box, other) >= 0.8 for other, c in zip(b.xyxy, b.class_id))
    return total, hits


def test_rectangular_input_finds_what_the_square_input_finds():
    """4:3 and 16:9 frames run at 416x320 / 416x256 instead of 416x416 and find the same objects."""
    square = OnnxDetector(shared_path("models", "yolox_nano_coco_416.onnx"), rect=False)
    rect = OnnxDetector(shared_path("models", "yolox_nano_coco_416.onnx"))
    assert rect.rect and not square.rect
    frames = [image for _, image in vtest_frames(0.4)]  # every 25th frame
    wide = [cv2.resize(f, (1280, 720)) for f in frames[::2]]
    assert rect.prepare(frames[0])[0].shape == (320, 416, 3) and rect.prepare(wide[0])[0].shape == (256, 416, 3)
    assert square.prepare(wide[0])[0].shape == (416, 416, 3)
    totals = [0, 0, 0, 0]
    for frame in frames + wide:
        s, r = square.detect(frame), rect.detect(frame)
        for k, (t, h) in enumerate((_matched(s, r), _matched(r, s))):
            totals[2 * k] += t
            totals[2 * k + 1] += h
    assert totals[0] >= 200 and totals[2] >= 200  # vtest is full of people
    assert totals[1] >= 0.97 * totals[0], totals  # square's detections found by rect
    assert totals[3] >= 0.97 * totals[2], totals  # and no new ones of its own


def test_frames_of_different_shapes_in_one_call_keep_their_order(bus_image):
    """A portrait photo between landscape frames: grouped by shape, answered in input order."""
    det = OnnxDetector(shared_path("models", "yolox_nano_coco_416.onnx"))
    frame = vtest_frames(0.4)[0][1]
    images = [frame, bus_image, cv2.resize(frame, (1280, 720)), bus_image]
    together = det.detect_prepared([det.prepare(img) for img in images])
    for img, got in zip(images, together):
        alone = det.detect(img)
        assert len(got) == len(alone) and np.allclose(got.xyxy, alone.xyxy, atol=0.5)
    assert "bus" in together[1].label_names() and "bus" not in together[0].label_names()


def test_graph_without_rectangular_support_stays_square(bus_image):
    """The int8 YOLOv8 bakes 8400 anchors into a reshape: detected at load, square input kept."""
    det = OnnxDetector(shared_path("models", "yolov8n_coco_int8_640.onnx"))
    assert not det.rect and det.prepare(bus_image)[0].shape == (640, 640, 3)
    assert "bus" in det.detect(bus_image).label_names()
    assert not OnnxDetector(shared_path("models", "yolox_nano_coco_416.onnx"), rect=False).rect
