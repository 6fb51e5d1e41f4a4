"""Both model families on real photos: same objects, boxes in source pixels, batching consistent."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from models import ModelError, OnnxDetector
from models.card import find_card
from models.families import guess_family
from store.evidence import sha256_file
from tests.conftest import REPO, shared_path
from tests.scenes import iou

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


def test_batch_equals_single(yolox, bus_image):
    zidane = cv2.imread(str(shared_path("media", "zidane.jpg")))
    images = [bus_image, zidane, bus_image[:, ::-1].copy()]
    batched = yolox(images)
    assert yolox.batchable
    for img, b in zip(images, batched):
        single = yolox.detect(img)
        assert len(single) == len(b)
        assert np.allclose(np.sort(single.score), np.sort(b.score), atol=1e-4)


def test_score_threshold_and_nms(yolox_path, bus_image):
    loose = OnnxDetector(yolox_path, score_threshold=0.05).detect(bus_image)
    strict = OnnxDetector(yolox_path, score_threshold=0.6).detect(bus_image)
    assert len(strict) < len(loose) and (strict.score >= 0.6).all()
    # class-wise NMS: no two same-class boxes overlap more than the NMS IoU
    for c in set(loose.class_id.tolist()):
        boxes = loose.xyxy[loose.class_id == c]
        from models.detections import box_iou

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

    det = OnnxDetector(shared_path("models", model_name))
    assert det.pixel_input and det.session.get_inputs()[0].type == "tensor(uint8)"
    pixels, info = det.prepare(bus_image)
    assert pixels.dtype == np.uint8 and pixels.shape == (det.input_size, det.input_size, 3)
    plain = ort.InferenceSession(str(det.path), providers=["CPUExecutionProvider"])
    tensor, _ = det.family.preprocess(bus_image, det.input_size)
    expected = plain.run(None, {plain.get_inputs()[0].name: tensor[None]})[0]
    got = det.run_tensor(pixels[None])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))
