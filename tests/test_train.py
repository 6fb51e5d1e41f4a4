"""`streetwarden train`: a short real run on a few garbage-cn images gives an ONNX model that the
runtime's OnnxDetector loads (pixel-input prefix, batch axis, card); the run folder resumes; bad
input costs one line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

from streetwarden.cli import main
from streetwarden.datasets.onnx_export import file_sha256
from streetwarden.models import OnnxDetector
from tests.conftest import shared_path

NAMES = ["garbage", "garbage_bin", "overflow"]


def small_garbage(tmp: Path, n_train: int = 6, n_val: int = 2) -> Path:
    """A copy of a few garbage-cn images with a real held-back val split."""
    src = shared_path("datasets", "garbage-cn")
    images = sorted((src / "images").glob("*.jpg"))
    root = tmp / "garbage-small"
    for split, files in (("train", images[:n_train]), ("val", images[500:500 + n_val])):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / "images" / split / f.name)
            shutil.copy(src / "labels" / f"{f.stem}.txt", root / "labels" / split / f"{f.stem}.txt")
    (root / "data.yaml").write_text(f"train: images/train\nval: images/val\nnc: 3\nnames: {NAMES}\n")
    return root


def test_short_training_run_gives_a_model_the_runtime_loads(tmp_path, yolox_path, capsys) -> None:
    data = small_garbage(tmp_path)
    run = tmp_path / "run"
    argv = ["train", "--data", str(data), "--base", str(yolox_path), "--epochs", "1", "--imgsz", "160",
            "--batch", "4", "--run", str(run)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "estimate: ~" in err and "per epoch" in err
    assert "epoch 1/1 (mosaic) [########################] 2/2" in err  # the progress bar reaches the end
    model = run / "model.onnx"
    card = yaml.safe_load((run / "model.yaml").read_text())
    assert card["sha256"] == file_sha256(model)
    assert card["classes"] == NAMES and card["family"] == "yolox" and card["input_size"] == 160
    assert card["base_model"] == yolox_path.name and card["licence"] == "Apache-2.0"
    assert len(card["dataset_sha256"]) == 64 and card["training"]["epochs"] == 1
    assert card["metrics"]["epoch"] == 1 and np.isfinite(card["metrics"]["train_loss"])
    # the runtime loads it like the shipped model: its classes, its size, uint8 pixel input, batches
    det = OnnxDetector(model, score_threshold=0.001)
    assert det.labels == tuple(NAMES) and det.input_size == 160 and det.family.name == "yolox"
    assert det.pixel_input and det.batchable and det.rect
    frames = [cv2.imread(str(p)) for p in sorted((data / "images" / "val").glob("*.jpg"))]
    out = det(frames)
    assert len(out) == 2 and all(((d.class_id >= 0) & (d.class_id < 3)).all() for d in out)
    assert sum(len(d.score) for d in out) > 0
    # the same command on a finished run trains nothing more; a longer --epochs resumes where it stopped
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "resuming" in err and "1 of 1 epochs done" in err and "epoch 1/1 (" not in err
    assert "run already finished" in err and file_sha256(model) == card["sha256"]
    argv[argv.index("--epochs") + 1] = "2"
    argv[argv.index("--base") + 1] = yolox_path.name  # a bare name, found in $STREETWARDEN_MODELS like `detect --model`
    assert main(argv) == 0
    err = capsys.readouterr().err
    # the last sixth of a run (at least one epoch) sees plain images: here the second of two
    assert "1 of 2 epochs done" in err and "epoch 2/2 (plain) [" in err and "epoch 1/2 (" not in err
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [(e["epoch"], e["stage"]) for e in log] == [(1, "mosaic"), (2, "plain")]


def test_a_trained_model_is_the_base_of_the_next_run(tmp_path, yolox_path, capsys) -> None:
    """The loop retrains from the model in service: a file `train` wrote converts back to the same
    network (outputs within float tolerance of onnxruntime) and keeps its classes."""
    import onnxruntime as ort
    import torch

    from streetwarden.datasets.onnx_to_torch import yolox_nano_from_onnx

    data = small_garbage(tmp_path, 4, 2)
    first = tmp_path / "first"
    assert main(["train", "--data", str(data), "--base", str(yolox_path), "--epochs", "1", "--imgsz", "128",
                 "--batch", "4", "--run", str(first)]) == 0
    model = first / "model.onnx"
    net = yolox_nano_from_onnx(model)
    assert net.head.num_classes == 3
    frame = cv2.resize(cv2.imread(str(sorted((data / "images" / "val").glob("*.jpg"))[0])), (128, 128))
    x = frame.transpose(2, 0, 1)[None].astype(np.float32)
    want = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
    with torch.no_grad():
        got = net.head(net.backbone(torch.from_numpy(x))).numpy()
    assert want.shape == got.shape == (1, 16 * 16 + 8 * 8 + 4 * 4, 8)
    assert np.abs(want - got).max() < 2e-3
    capsys.readouterr()
    second = tmp_path / "second"
    assert main(["train", "--data", str(data), "--base", str(model), "--epochs", "1", "--imgsz", "128",
                 "--batch", "4", "--augment", "flip", "--run", str(second)]) == 0
    assert "epoch 1/1 (plain) [" in capsys.readouterr().err
    card = yaml.safe_load((second / "model.yaml").read_text())
    assert card["base_model"] == "model.onnx" and card["classes"] == NAMES
    assert card["training"]["augment"] == "flip"


def test_a_short_run_from_yolov8n_gives_an_ultralytics_model(tmp_path, yolov8_path, capsys) -> None:
    """The int8 YOLOv8n base trains as a float YOLOv8n with its own loss; the file it writes is in
    the Ultralytics layout, which OnnxDetector loads and `evaluate` scores, and which converts back."""
    import onnxruntime as ort
    import torch

    from streetwarden.datasets.onnx_to_torch import model_from_onnx

    data = small_garbage(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--base", yolov8_path.name, "--epochs", "1", "--imgsz", "160",
                 "--batch", "4", "--run", str(run)]) == 0
    assert "epoch 1/1 (mosaic) [########################] 2/2" in capsys.readouterr().err
    assert json.loads((run / "args.json").read_text())["family"] == "ultralytics"
    model = run / "model.onnx"
    card = yaml.safe_load((run / "model.yaml").read_text())
    assert card["family"] == "ultralytics" and card["classes"] == NAMES and card["input_size"] == 160
    assert card["colour_order"] == "RGB" and card["base_model"] == yolov8_path.name
    assert card["licence"] == "AGPL-3.0 (Ultralytics)" and np.isfinite(card["metrics"]["train_loss"])
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].name == "output0" and session.get_outputs()[0].shape == ["batch", 7, 525]
    assert session.get_modelmeta().custom_metadata_map["family"] == "ultralytics"
    det = OnnxDetector(model, score_threshold=0.001)
    assert det.family.name == "ultralytics" and det.labels == tuple(NAMES) and det.input_size == 160
    assert det.pixel_input and det.batchable
    frames = [cv2.imread(str(p)) for p in sorted((data / "images" / "val").glob("*.jpg"))]
    out = det(frames)
    assert len(out) == 2 and sum(len(d.score) for d in out) > 0
    assert all(((d.class_id >= 0) & (d.class_id < 3)).all() for d in out)
    assert main(["evaluate", str(model), "--data", str(data), "--json", "--out", str(tmp_path / "eval")]) == 0
    scored = json.loads(capsys.readouterr().out)["model"]
    assert scored["family"] == "ultralytics" and scored["input_size"] == 160
    assert scored["dataset_classes_not_in_model"] == [] and 0.0 <= scored["mAP50"] <= 1.0
    # the file converts back to the same network (float: within float tolerance), keeping its classes
    net = model_from_onnx(model)
    assert net.family == "ultralytics" and net.head.num_classes == 3
    x = np.random.default_rng(0).random((2, 3, 160, 160), dtype=np.float32)
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    want = session.run(None, {"images": x})[0]
    assert np.abs(want[:, :4] - got[:, :4]).max() < 1e-2 and np.abs(want[:, 4:] - got[:, 4:]).max() < 1e-4


def _one_line_error(capsys, argv: list[str]) -> str:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_bad_input_one_line(tmp_path, yolox_path, capsys, monkeypatch) -> None:
    data = small_garbage(tmp_path, 2, 1)
    label = sorted((data / "labels" / "train").glob("*.txt"))[0]
    good = label.read_text()
    label.write_text(good.rstrip("\n") + "\n7 0.5 0.5 0.1 0.1\n")  # garbage-cn files end without a newline
    base = ["train", "--data", str(data), "--epochs", "1", "--imgsz", "96", "--run", str(tmp_path / "r")]
    line = _one_line_error(capsys, base + ["--base", str(yolox_path)])
    assert "class id 7 is out of range" in line and label.name in line and "dataset import" in line
    label.write_text(good)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    line = _one_line_error(capsys, base + ["--base", str(junk)])
    assert "junk.onnx: not an ONNX file" in line
    line = _one_line_error(capsys, base[:-4] + ["--imgsz", "100", "--base", str(yolox_path)])
    assert "--imgsz 100" in line and "multiple of 32" in line
    line = _one_line_error(capsys, base + ["--base", str(yolox_path), "--augment", "cutout"])
    assert "--augment cutout" in line and "mosaic" in line
    line = _one_line_error(capsys, base + ["--base", str(yolox_path), "--plain-epochs", "3"])
    assert "--plain-epochs 3" in line and "--epochs (1)" in line
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a runtime-only install
    line = _one_line_error(capsys, base + ["--base", str(yolox_path)])
    assert "[train] extra" in line and "pip install" in line
    assert not (tmp_path / "r" / "last.pt").exists()
