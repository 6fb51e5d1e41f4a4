"""`streetwarden dataset import DIR` checks an existing YOLO dataset: the shared garbage-cn set as it
is, and a copy of some of its files broken in known ways (one clear line per problem)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2

from streetwarden.cli import main
from streetwarden.datasets.yolo_check import check_dataset
from tests.conftest import shared_path


def test_garbage_cn_as_shipped() -> None:
    root = shared_path("datasets", "garbage-cn")
    report = check_dataset(root)
    assert report.names == ["garbage", "garbage_bin", "overflow"]
    assert report.distinct == len(list((root / "images").glob("*.jpg"))) == 1000
    assert all(report.boxes[i] > 0 for i in range(3))
    # its data.yaml names one folder for train and val: the one problem, said once
    assert len(report.problems) == 1, report.problems
    assert "val and train share 1000 image files" in report.problems[0]


def _broken_copy(tmp: Path) -> tuple[Path, dict[str, Path]]:
    src = shared_path("datasets", "garbage-cn")
    images = sorted((src / "images").glob("*.jpg"))[:6]
    root = tmp / "broken"
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    files = {}
    for i, img in enumerate(images[:5]):
        files[f"train{i}"] = shutil.copy(img, root / "images" / "train" / img.name)
        shutil.copy(src / "labels" / (img.stem + ".txt"), root / "labels" / "train" / (img.stem + ".txt"))
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 3\nnames: [garbage, garbage_bin, overflow]\n")
    t = {k: Path(v) for k, v in files.items()}
    label = lambda p: root / "labels" / p.parent.name / (p.stem + ".txt")  # noqa: E731
    label(t["train0"]).write_text("0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.1 0.1\n")  # class 3 of 3
    label(t["train1"]).write_text("1 1.4 0.5 0.2 0.2\n")  # centre outside the picture
    t["train2"].write_bytes(t["train2"].read_bytes()[:2000])  # a truncated download
    same = shutil.copy(t["train3"], root / "images" / "val" / "copy.jpg")  # the same file in val
    shutil.copy(label(t["train3"]), root / "labels" / "val" / "copy.txt")
    pixels = cv2.imread(str(t["train4"]))
    cv2.imwrite(str(root / "images" / "val" / "resaved.png"), pixels)  # re-saved: other bytes, same picture
    unrelated = images[5]  # a different scene in val: no problem
    shutil.copy(unrelated, root / "images" / "val" / unrelated.name)
    (root / "labels" / "val" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    return root, {**t, "same": Path(same), "resaved": root / "images" / "val" / "resaved.png",
                  "orphan": root / "labels" / "val" / "orphan.txt"}


def test_broken_dataset_one_line_per_problem(tmp_path, capsys) -> None:
    root, f = _broken_copy(tmp_path)
    assert main(["dataset", "import", str(root)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    problems = [line for line in out if line.startswith("problem: ")]
    assert len(problems) == 6, out
    label0 = root / "labels" / "train" / (f["train0"].stem + ".txt")
    label1 = root / "labels" / "train" / (f["train1"].stem + ".txt")
    expected = [
        (f"{label0}:2:", "class id 3 is out of range"),
        (f"{label1}:1:", "outside 0..1"),
        (f"{f['train2']}:", "cannot be read as an image"),
        (f"{f['same']}:", f"the same file as {f['train3'].resolve()}"),
        (f"{f['resaved']}:", f"near-duplicate of {f['train4'].resolve()}"),
        (f"{f['orphan']}:", "a label file without an image"),
    ]
    for prefix, words in expected:
        hits = [p for p in problems if p.startswith(f"problem: {prefix}") and words in p]
        assert len(hits) == 1, (prefix, words, problems)
    assert out[-1].endswith("6 problem(s)") and "8 images (train 5, val 3)" in out[-1]


def test_unnamed_classes_and_missing_yaml(tmp_path) -> None:
    root, _ = _broken_copy(tmp_path)
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 4\nnames: [garbage, garbage_bin, overflow]\n")
    report = check_dataset(root)
    assert any("nc is 4 but `names` lists 3 classes: classes [3] have no name" in p for p in report.problems)
    (root / "data.yaml").unlink()
    report = check_dataset(root)
    assert len(report.problems) == 1 and "no data.yaml" in report.problems[0]
