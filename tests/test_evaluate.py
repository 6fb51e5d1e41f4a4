"""`streetwarden evaluate`: real models through the runtime's OnnxDetector, real photos and frames,
metrics from pycocotools; a short real training run scored beside the model it would replace; bad
input costs one line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from streetwarden.cli import main
from streetwarden.datasets.eval_metrics import Boxes, score
from streetwarden.datasets.eval_truth import load_split
from streetwarden.models import OnnxDetector
from streetwarden.models.detections import COCO_LABELS
from streetwarden.models.store import sha256_file
from tests.conftest import shared_path
from tests.enforcement_support import vtest_frame as frame_at
from tests.test_train import NAMES, small_garbage

# real photos and frames of the shared media: (file, frame index or None for a still)
PICTURES = [("bus.jpg", None), ("zidane.jpg", None), ("vtest.avi", 100), ("vtest.avi", 400), ("vtest.avi", 700),
            ("car-detection.mp4", 30), ("car-detection.mp4", 150), ("one-by-one-person-detection.mp4", 232)]
REFERENCE_SCORE = 0.5


def _yolo_lines(xyxy: np.ndarray, cls: np.ndarray, w: int, h: int) -> str:
    rows = []
    for (x1, y1, x2, y2), c in zip(xyxy.clip(0, [w, h, w, h]), cls):
        rows.append(f"{int(c)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n")
    return "".join(rows)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, yolov8_path) -> Path:
    """A YOLO dataset of the shared photos and frames, labelled by a different model (the YOLOv8n int8
    file, boxes scored >= 0.5): two pictures in train, the rest held back in val."""
    root = tmp_path_factory.mktemp("reference")
    labeller = OnnxDetector(yolov8_path, score_threshold=REFERENCE_SCORE)
    for i, (name, index) in enumerate(PICTURES):
        media = shared_path("media", name)
        image = cv2.imread(str(media)) if index is None else frame_at(media, index)
        split = "train" if i < 2 else "val"
        stem = f"{Path(name).stem}-{index or 0}"
        for kind in ("images", "labels"):
            (root / kind / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / split / f"{stem}.png"), image)  # lossless: the labeller saw these pixels
        d = labeller.detect(image)
        (root / "labels" / split / f"{stem}.txt").write_text(_yolo_lines(d.xyxy, d.class_id, image.shape[1], image.shape[0]))
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "images/train", "val": "images/val", "names": list(COCO_LABELS)}))
    return root


def _label_counts(root: Path, split: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for lp in (root / "labels" / split).glob("*.txt"):
        for line in lp.read_text().splitlines():
            counts[int(line.split()[0])] = counts.get(int(line.split()[0]), 0) + 1
    return counts


def test_yolox_against_reference_labels_side_by_side(reference, yolox_path, yolov8_path, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["evaluate", str(yolox_path), "--data", str(reference), "--baseline", str(yolov8_path),
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "evaluate yolox_nano_coco_416.onnx: 6/6 images (" in captured.err and "ETA" in captured.err
    table = captured.out.splitlines()
    assert yolox_path.name in table[0] and yolov8_path.name in table[0] and "delta" in table[0]
    m = json.loads((out / "metrics.json").read_text())
    model, base = m["model"], m["baseline"]
    assert m["dataset"]["split"] == "val" and m["dataset"]["images"] == 6
    gt = _label_counts(reference, "val")
    assert m["dataset"]["boxes"] == sum(gt.values()) >= 20
    for r in (model, base):
        assert r["dataset_classes_not_in_model"] == [] and r["conf"] == 0.25
        assert 0.0 <= r["mAP50_95"] <= r["mAP50"] <= 1.0
        matrix = np.array(r["confusion"]["matrix"])
        assert matrix.shape == (81, 81)
        for k, c in enumerate(r["per_class"]):
            assert c["gt"] == gt.get(k, 0) == matrix[k].sum()  # every true box once: found, confused or missed
            if c["gt"]:
                assert 0.0 <= c["ap50_95"] <= c["ap50"] <= 1.0 and 0 <= c["tp"] <= c["gt"]
                assert c["recall"] == pytest.approx(c["tp"] / c["gt"])
            else:
                assert c["ap50"] is None and c["recall"] is None
    # the labeller scored on its own labels through the whole path (files, letterbox, class names) is perfect;
    # the other, smaller-input model finds the same objects but draws their boxes differently
    assert base["mAP50"] > 0.99 and base["mAP50_95"] > 0.99
    assert model["mAP50"] > 0.5 and model["mAP50_95"] < base["mAP50_95"]
    row = next(line for line in table if line.startswith("mAP50-95 (all dataset classes)"))
    assert f"{model['mAP50_95'] - base['mAP50_95']:+.3f}" in row
    png = cv2.imread(str(out / "pr_curves.png"))
    assert png is not None and png.shape[1] > png.shape[0] * 2 > 0  # two panels side by side


def test_labels_against_themselves_score_one(reference) -> None:
    truth = load_split(reference, "val")
    perfect = [Boxes(b.xyxy, b.class_id, np.ones(len(b.class_id), np.float32)) for b in truth.boxes]
    m = score(truth.sizes, truth.boxes, perfect, truth.names, [True] * len(truth.names))
    assert m.map50 == pytest.approx(1.0) and m.map50_95 == pytest.approx(1.0)
    present = [c for c in m.per_class if c.gt]
    assert present and all(c.precision == 1.0 and c.recall == 1.0 and c.ap50 == pytest.approx(1.0) for c in present)
    matrix = np.array(m.confusion)
    assert matrix.trace() == sum(c.gt for c in present) and (matrix - np.diag(np.diag(matrix))).sum() == 0
    # and one box moved off its object is a miss and a false alarm, seen in the figures
    moved = [Boxes(b.xyxy.copy(), b.class_id, np.ones(len(b.class_id), np.float32)) for b in truth.boxes]
    i = next(j for j, b in enumerate(moved) if len(b.class_id))
    moved[i].xyxy[0] += 5000.0  # far outside the picture: overlaps no true box
    worse = score(truth.sizes, truth.boxes, moved, truth.names, [True] * len(truth.names))
    assert worse.map50 < 1.0 and np.array(worse.confusion)[-1].sum() == 1 and np.array(worse.confusion)[:, -1].sum() == 1


def test_trained_model_scored_beside_its_base(tmp_path, yolox_path, capsys) -> None:
    """The CI training path: a short real run gives an ONNX model that evaluate scores through OnnxDetector."""
    data = small_garbage(tmp_path, n_train=4, n_val=3)
    run = tmp_path / "train"
    assert main(["train", "--data", str(data), "--base", str(yolox_path), "--epochs", "1", "--imgsz", "128",
                 "--batch", "4", "--run", str(run)]) == 0
    model = run / "model.onnx"
    capsys.readouterr()
    out = tmp_path / "eval"
    assert main(["evaluate", str(model), "--data", str(data), "--baseline", str(yolox_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: yolox_nano_coco_416.onnx has no class named garbage, garbage_bin, overflow" in text
    m = json.loads((out / "metrics.json").read_text())
    trained, base = m["model"], m["baseline"]
    assert trained["family"] == "yolox" and trained["input_size"] == 128 and trained["sha256"] == sha256_file(model)
    assert trained["dataset_classes_not_in_model"] == [] and base["dataset_classes_not_in_model"] == NAMES
    assert base["model_classes_not_in_dataset"] == 80 and trained["model_classes_not_in_dataset"] == 0
    assert [c["name"] for c in trained["per_class"]] == NAMES
    assert not any(c["in_model"] for c in base["per_class"]) and base["mAP50_matched"] is None
    assert base["mAP50"] == 0.0  # it cannot name one of these classes
    assert 0.0 <= trained["mAP50_95"] <= trained["mAP50"] <= 1.0
    assert cv2.imread(str(out / "pr_curves.png")) is not None
    # the card beside the model gets the figures and still describes the file
    card = yaml.safe_load((run / "model.yaml").read_text())
    assert card["evaluation"]["mAP50"] == round(trained["mAP50"], 4) and card["evaluation"]["images"] == 3
    assert card["evaluation"]["dataset_sha256"] == m["dataset"]["sha256"] and card["sha256"] == sha256_file(model)
    assert OnnxDetector(model).labels == tuple(NAMES)


def _tiny_classifier(path: Path) -> Path:
    """A real ONNX model of another kind: an image classifier (output [1, 3]), no boxes."""
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["output"])],
        "classifier", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _one_line_error(capsys, argv: list[str]) -> str:  # type: ignore[no-untyped-def]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_bad_input_one_line(tmp_path, yolox_path, yolov8_path, capsys, monkeypatch) -> None:
    data = small_garbage(tmp_path, 2, 1)
    args = ["--data", str(data), "--out", str(tmp_path / "e")]
    line = _one_line_error(capsys, ["evaluate", str(_tiny_classifier(tmp_path / "classifier.onnx")), *args])
    assert "classifier.onnx" in line and "unknown output family" in line
    # an Ultralytics file whose card says YOLOX: the output does not decode as that family
    wrong = tmp_path / "wrong" / "v8.onnx"
    wrong.parent.mkdir()
    shutil.copy(yolov8_path, wrong)
    wrong.with_suffix(".yaml").write_text("family: yolox\ninput_size: 640\nclasses: coco80\n")
    line = _one_line_error(capsys, ["evaluate", str(wrong), *args])
    assert "v8.onnx" in line and "does not decode as yolox" in line
    no_yaml = tmp_path / "no-yaml"
    shutil.copytree(data / "images", no_yaml / "images")
    line = _one_line_error(capsys, ["evaluate", str(yolox_path), "--data", str(no_yaml)])
    assert "no data.yaml" in line
    line = _one_line_error(capsys, ["evaluate", str(yolox_path), *args, "--split", "test"])
    assert "split 'test'" in line and "train, val" in line
    label = sorted((data / "labels" / "val").glob("*.txt"))[0]
    label.write_text(label.read_text().rstrip("\n") + "\n7 0.5 0.5 0.1 0.1\n")
    line = _one_line_error(capsys, ["evaluate", str(yolox_path), *args])
    assert "class id 7 is out of range" in line and label.name in line and "dataset import" in line
    assert not (tmp_path / "e" / "metrics.json").exists()
    monkeypatch.setitem(sys.modules, "pycocotools", None)  # as on an install without the [eval] extra
    line = _one_line_error(capsys, ["evaluate", str(yolox_path), *args])
    assert "[eval] extra" in line and "pip install" in line
