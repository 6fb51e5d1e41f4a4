"""Checks an existing YOLO dataset before it is trained on: one clear line per problem.

What is checked: ``data.yaml`` (class names for every class id, the split folders exist), every
label line (five numbers, class id in range, centre and size within 0..1, size above 0), every
image decodes, labels without an image, and the same picture in two splits (the same bytes, or a
a near-duplicate by the thumbnail measure of :mod:`frame_hash`), which would make validation figures lie.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from streetwarden.datasets.frame_hash import NEAR_DUPLICATE_LEVELS, thumbnail
from streetwarden.models.store import sha256_file

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
SPLITS = ("train", "val", "test")


@dataclass
class CheckReport:
    root: Path
    names: list[str] = field(default_factory=list)
    images: dict[str, int] = field(default_factory=dict)
    boxes: Counter = field(default_factory=Counter)
    backgrounds: int = 0
    distinct: int = 0  # image files, each counted once even when listed in two splits
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # the problems that are one picture in two splits
    splits: dict[str, list[Path]] = field(default_factory=dict)  # image files per split

    def blocking(self) -> list[str]:
        """Problems training cannot go on with (a split leak only makes the val figures lie)."""
        return [p for p in self.problems if p not in self.leaks]

    def summary(self) -> str:
        split = ", ".join(f"{k} {v}" for k, v in self.images.items())
        per = ", ".join(f"{n} {self.boxes.get(i, 0)}" for i, n in enumerate(self.names))
        return (f"{self.root}: {self.distinct} images ({split}), boxes: {per or 'none'}, "
                f"{self.backgrounds} without boxes; {len(self.problems)} problem(s)")


def _names(data: dict, report: CheckReport, yaml_path: Path) -> int | None:
    names = data.get("names")
    nc = data.get("nc")
    if isinstance(names, dict):
        try:
            table = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            report.problems.append(f"{yaml_path}: `names` keys must be class ids (0, 1, …)")
            return None
        missing = [i for i in range(max(table) + 1 if table else 0) if i not in table]
        if missing:
            report.problems.append(f"{yaml_path}: class id(s) {missing} have no name in `names`")
        report.names = [table.get(i, f"class{i}") for i in range(max(table) + 1 if table else 0)]
    elif isinstance(names, list):
        report.names = [str(n) for n in names]
    else:
        report.problems.append(f"{yaml_path}: `names` is missing: list the class names (names: [garbage, …])")
        return int(nc) if isinstance(nc, int) else None
    if nc is not None and nc != len(report.names):
        report.problems.append(f"{yaml_path}: nc is {nc} but `names` lists {len(report.names)} classes: "
                               f"classes {list(range(len(report.names), int(nc)))} have no name"
                               if isinstance(nc, int) and nc > len(report.names) else
                               f"{yaml_path}: nc is {nc} but `names` lists {len(report.names)} classes")
        return min(int(nc), len(report.names)) if isinstance(nc, int) else len(report.names)
    return len(report.names)


def _split_images(base: Path, value: object, yaml_path: Path, split: str, report: CheckReport) -> list[Path]:
    entries = value if isinstance(value, list) else [value]
    found: list[Path] = []
    for entry in entries:
        p = (base / str(entry)).resolve()
        if p.is_dir():
            found += sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_EXTS)
        elif p.is_file() and p.suffix == ".txt":
            found += [(p.parent / line.strip()).resolve() for line in p.read_text().splitlines() if line.strip()]
        else:
            report.problems.append(f"{yaml_path}: {split}: {entry} does not exist (looked at {p})")
    return found


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last `images` folder in the path becomes `labels`, suffix .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def check_labels(path: Path, nc: int | None, report: CheckReport) -> int:
    """Problems of one label file go to the report; returns its number of good boxes."""
    good = 0
    for n, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        fields = raw.split()
        if not fields:
            continue
        where = f"{path}:{n}"
        if len(fields) != 5:
            kind = "a segmentation polygon, not a box" if len(fields) > 5 else "too few numbers"
            report.problems.append(f"{where}: expected `class cx cy w h` (5 numbers), got {len(fields)}: {kind}")
            continue
        try:
            cls = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            report.problems.append(f"{where}: not numbers: {raw.strip()!r}")
            continue
        if cls < 0 or (nc is not None and cls >= nc):
            report.problems.append(f"{where}: class id {cls} is out of range (data.yaml names {nc} classes: 0..{(nc or 1) - 1})")
            continue
        if not all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)) or w <= 0 or h <= 0:
            report.problems.append(f"{where}: box {cx} {cy} {w} {h} is outside 0..1 (normalised centre/size) or empty")
            continue
        report.boxes[cls] += 1
        good += 1
    return good


def check_dataset(root: Path, near_duplicate_levels: int = NEAR_DUPLICATE_LEVELS) -> CheckReport:
    """Check the dataset at ``root`` (its folder with data.yaml, or the yaml file itself)."""
    yaml_path = root if root.is_file() else root / "data.yaml"
    report = CheckReport(root)
    if not yaml_path.is_file():
        report.problems.append(f"{yaml_path}: no data.yaml: a YOLO dataset needs one (train, val, names)")
        return report
    try:
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        report.problems.append(f"{yaml_path}: not valid YAML: {str(err).splitlines()[0]}")
        return report
    nc = _names(data, report, yaml_path)
    base = (yaml_path.parent / str(data.get("path") or ".")).resolve()
    split_files: dict[str, list[Path]] = {}
    for split in SPLITS:
        if data.get(split):
            split_files[split] = _split_images(base, data[split], yaml_path, split, report)
    if "train" not in split_files or "val" not in split_files:
        report.problems.append(f"{yaml_path}: needs both `train` and `val`")
    seen: dict[Path, str] = {}
    for split, files in split_files.items():
        shared = [f for f in files if f in seen]
        if shared:
            report.leaks.append(f"{yaml_path}: {split} and {seen[shared[0]]} share {len(shared)} image files "
                                   f"(e.g. {shared[0].name}): every one is on both sides; hold back a separate val split")
            report.problems.append(report.leaks[-1])
        for f in files:
            seen.setdefault(f, split)
    digests: dict[str, list[tuple[str, np.ndarray, Path]]] = {}
    for split, files in split_files.items():
        report.images[split] = len(files)
        for image in files:
            if seen.get(image) != split:
                continue  # already checked under the split it was first listed in
            data_bytes = image.read_bytes() if image.is_file() else b""
            pixels = cv2.imdecode(np.frombuffer(data_bytes, np.uint8), cv2.IMREAD_COLOR) if data_bytes else None
            if pixels is None:
                report.problems.append(f"{image}: cannot be read as an image ({'missing' if not data_bytes else 'corrupt or not an image'})")
            else:
                digests.setdefault(split, []).append((hashlib.sha256(data_bytes).hexdigest(), thumbnail(pixels), image))
            lp = label_path(image)
            if not lp.is_file() or check_labels(lp, nc, report) == 0:
                report.backgrounds += 1
    report.distinct = len(seen)
    report.splits = split_files
    _cross_split_duplicates(digests, near_duplicate_levels, report)
    _orphan_labels(split_files, report)
    return report


def _cross_split_duplicates(digests: dict[str, list[tuple[str, np.ndarray, Path]]], levels: int,
                            report: CheckReport) -> None:
    splits = list(digests)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            by_sha = {sha: p for sha, _, p in digests[a]}
            thumbs = np.array([t for _, t, _ in digests[a]], dtype=np.int16).reshape(len(digests[a]), -1)
            for sha, t, p in digests[b]:
                if sha in by_sha:
                    report.leaks.append(f"{p}: the same file as {by_sha[sha]} ({a}): one picture in {a} and {b}")
                    report.problems.append(report.leaks[-1])
                    continue
                if len(thumbs):
                    d = np.abs(thumbs - t.astype(np.int16).reshape(1, -1)).max(axis=1)
                    j = int(d.argmin())
                    if d[j] <= levels:
                        report.leaks.append(f"{p}: near-duplicate of {digests[a][j][2]} ({a}; thumbnails differ by "
                                            f"at most {int(d[j])} grey levels): one scene in {a} and {b}")
                        report.problems.append(report.leaks[-1])


def _orphan_labels(split_files: dict[str, list[Path]], report: CheckReport) -> None:
    wanted = {label_path(f) for files in split_files.values() for f in files}
    folders = {lp.parent for lp in wanted}
    for folder in sorted(folders):
        for lp in sorted(folder.glob("*.txt")):
            if lp not in wanted:
                report.problems.append(f"{lp}: a label file without an image")


def dataset_sha256(yaml_path: Path, files: list[Path]) -> str:
    """One hash of data.yaml, every image and every label file (names and contents)."""
    h = hashlib.sha256(yaml_path.read_bytes())
    for f in sorted(set(files)):
        lp = label_path(f)
        h.update(f"{f.name}:{sha256_file(f)}:{sha256_file(lp) if lp.is_file() else '-'}\n".encode())
    return h.hexdigest()
