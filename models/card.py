"""Model cards: the YAML facts about a model file (family, input, classes, licence, checksum)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

from streetwarden.models.detections import COCO_LABELS

CARDS_DIR = Path(__file__).parent / "cards"


@dataclass(frozen=True)
class Download:
    """Where `streetwarden models fetch` gets the file; sha256/size None = the card cannot pin them."""

    url: str
    sha256: str | None = None
    size: int | None = None
    note: str | None = None

    @property
    def file_name(self) -> str:
        """The name a mirror serves the file under (the last part of the official address)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ModelCard:
    file: str
    family: str | None = None
    input_size: int | None = None
    labels: tuple[str, ...] = COCO_LABELS
    licence: str | None = None
    sha256: str | None = None  # the copy StreetWarden is tested with (not necessarily what `download` gives)
    download: Download | None = None
    path: Path | None = None  # the YAML file this card was read from


def _labels(value: object) -> tuple[str, ...]:
    if value in (None, "coco80"):
        return COCO_LABELS
    if isinstance(value, dict):
        return tuple(str(value[k]) for k in sorted(value))
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ValueError(f"model card: classes must be 'coco80', a list or a mapping, got {value!r}")


def _download(value: object, origin: Path) -> Download | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not str(value.get("url", "")).startswith(("http://", "https://")):
        raise ValueError(f"{origin}: download: needs `url: http(s)://…` (and optionally sha256, size)")
    sha = value.get("sha256")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ValueError(f"{origin}: download.sha256: must be 64 lower-case hex digits, or null when it cannot be pinned")
    size = value.get("size")
    return Download(url=str(value["url"]), sha256=sha, size=int(size) if size is not None else None,
                    note=value.get("note"))


def read_card(path: Path, default_file: str | None = None) -> ModelCard:
    """One card YAML; ValueError naming the file and field when it is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a model card must be a mapping of fields")
    return ModelCard(
        file=str(data.get("file", default_file or path.with_suffix(".onnx").name)),
        family=data.get("family"),
        input_size=data.get("input_size"),
        labels=_labels(data.get("classes")),
        licence=data.get("licence"),
        sha256=data.get("sha256"),
        download=_download(data.get("download"), path),
        path=path,
    )


def find_card(model_path: Path) -> ModelCard | None:
    """A card beside the model (`name.yaml`) wins over the cards shipped with StreetWarden."""
    for candidate in (model_path.with_suffix(".yaml"), CARDS_DIR / (model_path.stem + ".yaml")):
        if candidate.exists():
            return read_card(candidate, model_path.name)
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
