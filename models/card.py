"""Model cards: the YAML facts about a model file (family, input, classes, licence, checksum)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

from streetwarden.models.detections import COCO_LABELS

CARDS_DIR = Path(__file__).parent / "cards"


@dataclass(frozen=True)
class ModelCard:
    file: str
    family: str | None = None
    input_size: int | None = None
    labels: tuple[str, ...] = COCO_LABELS
    licence: str | None = None
    sha256: str | None = None


def _labels(value: object) -> tuple[str, ...]:
    if value in (None, "coco80"):
        return COCO_LABELS
    if isinstance(value, dict):
        return tuple(str(value[k]) for k in sorted(value))
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ValueError(f"model card: classes must be 'coco80', a list or a mapping, got {value!r}")


def find_card(model_path: Path) -> ModelCard | None:
    """A card beside the model (`name.yaml`) wins over the cards shipped with StreetWarden."""
    for candidate in (model_path.with_suffix(".yaml"), CARDS_DIR / (model_path.stem + ".yaml")):
        if candidate.exists():
            data = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
            return ModelCard(
                file=str(data.get("file", model_path.name)),
                family=data.get("family"),
                input_size=data.get("input_size"),
                labels=_labels(data.get("classes")),
                licence=data.get("licence"),
                sha256=data.get("sha256"),
            )
    return None


def card_from_metadata(meta: dict[str, str]) -> ModelCard | None:
    """Ultralytics exports carry `names` and `imgsz` in the ONNX metadata."""
    if "names" not in meta:
        return None
    names = ast.literal_eval(meta["names"])
    size = None
    if "imgsz" in meta:
        size = int(ast.literal_eval(meta["imgsz"])[0])
    family = "ultralytics" if meta.get("author", "").lower().startswith("ultralytics") else None
    return ModelCard(file="", family=family, input_size=size, labels=_labels(names), licence=meta.get("license"))
