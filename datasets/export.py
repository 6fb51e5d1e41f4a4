"""Reviewed candidates → an Ultralytics-format YOLO dataset with a manifest.

Layout written under the output folder (the same input gives the same bytes, so a re-export is
byte-identical and its manifest hash can name the dataset in a model card)::

    data.yaml                  class names, train/val folders
    images/{train,val}/*.jpg   the evidence frames, copied byte for byte
    labels/{train,val}/*.txt   one `class cx cy w h` line per confirmed box (normalised); empty = background
    manifest.json              every source candidate, its decision and role, file sha256, the split
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.frame_hash import NEAR_DUPLICATE_LEVELS, nearest, thumbnail
from streetwarden.datasets.sources import Source
from streetwarden.datasets.split import assign, period_of, unit_name

FORMAT = "streetwarden-dataset/1"


class ExportError(Exception):
    """The export cannot be written; the message says what to do."""


@dataclass(frozen=True)
class ExportOptions:
    """How sources become a dataset."""

    classes: tuple[str, ...] = ()  # fixed class order (e.g. a base model's); empty = sorted confirmed labels
    period_hours: float = 24.0
    val_fraction: float = 0.2
    near_duplicate_levels: int = NEAR_DUPLICATE_LEVELS


@dataclass
class _Image:
    camera: str
    sha256: str
    path: Path
    ts: float
    size: tuple[int, int]
    kind: str
    members: list[Source] = field(default_factory=list)


@dataclass
class ExportResult:
    out: Path
    counts: dict[str, int]
    notes: list[str]
    manifest_sha256: str


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _usable(sources: list[Source], excluded: list[dict]) -> dict[tuple[str, str], _Image]:
    """Group positive/negative sources by their frame file; the rest go to ``excluded`` with why."""
    images: dict[tuple[str, str], _Image] = {}
    checked: dict[Path, str | None] = {}
    for src in sources:
        why = None
        if src.role == "excluded":
            why = f"decision {src.decision}/{src.reason} says nothing about the object"
        elif src.image_path is None:
            why = "no frame evidence stored"
        else:
            if src.image_path not in checked:
                checked[src.image_path] = _sha(src.image_path.read_bytes()) if src.image_path.is_file() else None
            actual = checked[src.image_path]
            if actual is None:
                why = f"evidence file missing: {src.image_path}"
            elif actual != src.image_sha256:
                why = f"evidence file changed since it was stored (sha256 {actual[:12]}…, stored {src.image_sha256[:12]}…)"
        if why:
            excluded.append({"candidate": src.candidate_id, "decision": src.decision, "reason": src.reason, "why": why})
            continue
        key = (src.camera_id, src.image_sha256 or "")
        img = images.setdefault(key, _Image(src.camera_id, key[1], src.image_path, src.ts, src.image_size,
                                            src.image_kind or ""))
        img.ts = min(img.ts, src.ts)
        img.members.append(src)
    return images


def _drop_near_duplicates(images: list[_Image], levels: int, dropped: list[dict]) -> list[_Image]:
    """Keep, per camera in time order, only frames more than ``levels`` away from every frame kept."""
    kept: list[_Image] = []
    thumbs: dict[str, list[tuple[np.ndarray, _Image]]] = {}
    for img in sorted(images, key=lambda i: (i.camera, i.ts, i.sha256)):
        pixels = cv2.imdecode(np.frombuffer(img.path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        if pixels is None:
            dropped.append({"candidates": [m.candidate_id for m in img.members], "why": f"unreadable image {img.path}"})
            continue
        if not all(img.size):
            img.size = (pixels.shape[1], pixels.shape[0])
        t = thumbnail(pixels)
        prior = thumbs.setdefault(img.camera, [])
        near = nearest(t, np.array([p for p, _ in prior]))
        if near is not None and near[1] <= levels:
            dropped.append({"candidates": sorted(m.candidate_id for m in img.members), "why": "near-duplicate",
                            "of_candidates": sorted(m.candidate_id for m in prior[near[0]][1].members),
                            "largest_difference": near[1]})
            continue
        prior.append((t, img))
        kept.append(img)
    return kept


def _label_lines(img: _Image, classes: dict[str, int]) -> list[str]:
    lines = []
    for src in sorted(img.members, key=lambda m: m.candidate_id):
        if src.role != "positive" or src.label not in classes:
            continue
        fw, fh = src.frame_size if all(src.frame_size) else img.size
        x1, y1, x2, y2 = (min(max(v / d, 0.0), 1.0) for v, d in zip(src.box, (fw, fh, fw, fh)))
        if x2 <= x1 or y2 <= y1:
            continue
        lines.append(f"{classes[src.label]} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
    return lines


def _correction_entry(src: Source) -> dict:
    """Where a corrected label came from: the reviewer, when, and what the detector had said."""
    label, box = src.detected or (src.label, src.box)
    return {"by": src.reviewer, "at": src.decided_at, "detector_label": label,
            "detector_box": [round(v, 2) for v in box]}


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise ExportError(f"output folder {out} is not empty and holds no earlier export (manifest.json): "
                              "choose an empty or new folder")
        for name in ("images", "labels"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in ("data.yaml", "manifest.json"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _data_yaml(classes: list[str]) -> str:
    names = "".join(f"  {i}: {json.dumps(n, ensure_ascii=False)}\n" for i, n in enumerate(classes))
    return ("# StreetWarden export of reviewed candidates; sources and split in manifest.json\n"
            "train: images/train\nval: images/val\n"
            f"nc: {len(classes)}\nnames:\n{names}")


def write_dataset(sources: list[Source], out: Path, options: ExportOptions, filters: dict) -> ExportResult:
    """Write the dataset of ``sources`` to ``out`` (replacing an earlier export there)."""
    excluded: list[dict] = []
    dropped: list[dict] = []
    images = _drop_near_duplicates(list(_usable(sources, excluded).values()), options.near_duplicate_levels, dropped)
    labels = options.classes or tuple(sorted({m.label for i in images for m in i.members if m.role == "positive"}))
    classes = {name: i for i, name in enumerate(labels)}
    for img in images:
        for m in img.members:
            if m.role == "positive" and m.label not in classes:
                excluded.append({"candidate": m.candidate_id, "decision": m.decision, "reason": m.reason,
                                 "why": f"class {m.label!r} is not among the chosen classes"})
    units = {(i.camera, period_of(i.ts, options.period_hours)) for i in images}
    sides = assign(units, options.val_fraction)
    _prepare_out(out)
    entries = []
    for img in sorted(images, key=lambda i: min(m.candidate_id for m in i.members)):
        period = period_of(img.ts, options.period_hours)
        split = sides[(img.camera, period)]
        stem = f"{_safe(img.camera)}-{min(m.candidate_id for m in img.members):06d}"
        data = img.path.read_bytes()
        label_text = "".join(line + "\n" for line in _label_lines(img, classes))
        for rel, payload in ((f"images/{split}/{stem}.jpg", data), (f"labels/{split}/{stem}.txt", label_text.encode())):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(payload)
        entries.append({
            "image": f"images/{split}/{stem}.jpg", "sha256": img.sha256, "label": f"labels/{split}/{stem}.txt",
            "label_sha256": _sha(label_text.encode()), "split": split, "camera": img.camera,
            "unit": unit_name(img.camera, period), "ts": img.ts, "width": img.size[0], "height": img.size[1],
            "evidence_kind": img.kind, "box_drawn": img.kind != "clean",
            "candidates": [{"id": m.candidate_id, "violation": m.violation, "decision": m.decision,
                            "reason": m.reason, "decided_at": m.decided_at, "role": m.role, "label": m.label,
                            "class": classes.get(m.label) if m.role == "positive" else None,
                            "box": [round(v, 2) for v in m.box], "corrected": m.corrected,
                            **({"correction": _correction_entry(m)} if m.corrected else {})}
                           for m in sorted(img.members, key=lambda m: m.candidate_id)],
        })
    (out / "data.yaml").write_text(_data_yaml(list(labels)), encoding="utf-8")
    manifest = {
        "format": FORMAT, "filters": filters, "classes": list(labels),
        "split": {"by": "camera and period", "period_hours": options.period_hours, "val_fraction": options.val_fraction,
                  "units": {unit_name(c, p): side for (c, p), side in sorted(sides.items())}},
        "near_duplicates": {"method": "32x24 grey thumbnails (INTER_AREA), per camera in time order: dropped when "
                                      "no cell differs from a kept frame by more than max_difference",
                            "max_difference": options.near_duplicate_levels},
        "images": entries, "dropped": dropped, "excluded": sorted(excluded, key=lambda e: e["candidate"]),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    counts = {"images": len(entries), "train": sum(e["split"] == "train" for e in entries),
              "val": sum(e["split"] == "val" for e in entries),
              "boxes": sum(1 for e in entries for c in e["candidates"] if c["class"] is not None),
              "negatives": sum(1 for e in entries for c in e["candidates"] if c["role"] == "negative"),
              "corrected": sum(1 for e in entries for c in e["candidates"] if c["corrected"] and c["class"] is not None),
              "near_duplicates": len(dropped), "excluded": len(excluded)}
    notes = []
    drawn = sum(e["box_drawn"] for e in entries)
    if drawn:
        notes.append(f"{drawn} of {len(entries)} images are `frame` evidence with the candidate's box drawn on it "
                     "(no `clean` frame stored): the drawn box is in the training picture")
    return ExportResult(out, counts, notes, _sha(text.encode()))
