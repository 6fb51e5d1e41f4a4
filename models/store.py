"""The model store: a deployment's folder of ONNX files plus `index.json`, the record of what each
file's sha256 must be and why it is trusted (pinned by its card, trusted on first download, imported).

Why an index: a card that cannot pin a hash still lets a later download be checked against the
first one, and `models list` can say where each file came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streetwarden.config import ConfigError, Settings, model_search_dirs
from streetwarden.filelock import exclusive
from streetwarden.models.card import CARDS_DIR, ModelCard, find_card, read_card

INDEX = "index.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.onnx$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_name(name: str, what: str = "NAME") -> str:
    """A store file name: plain `something.onnx`, no folders (`.onnx` is added when missing)."""
    if not name.endswith(".onnx"):
        name += ".onnx"
    if not _NAME_RE.match(name):
        raise ConfigError(f"{what}: '{name}' is not a model file name (letters, digits, '-', '_', '.', ending in .onnx, no folders)")
    return name


@dataclass(frozen=True)
class Record:
    """What the index knows about one stored file."""

    sha256: str
    size: int
    trust: str  # "pinned" (card's sha256), "first-use" (first download), "imported"
    source: str
    recorded_at: str


class ModelStore:
    """One store folder; every write goes to a temporary file renamed into place."""

    def __init__(self, folder: Path) -> None:
        self.dir = Path(folder)

    def path(self, name: str) -> Path:
        return self.dir / name

    def card(self, name: str) -> ModelCard | None:
        """The store's own card (`<stem>.yaml` beside the file) wins over the shipped one."""
        try:
            return find_card(self.path(name))
        except ValueError as err:
            raise ConfigError(str(err)) from None

    # -- index ------------------------------------------------------------------------------------
    def records(self) -> dict[str, Record]:
        index = self.dir / INDEX
        if not index.exists():
            return {}
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
            return {k: Record(**v) for k, v in data.get("models", {}).items()}
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{index}: unreadable model index ({err}); restore it or delete it to trust the files again") from None

    def record(self, name: str, sha256: str, size: int, trust: str, source: str) -> Record:
        rec = Record(sha256, size, trust, source, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        records = self.records()
        records[name] = rec
        body = {"version": 1, "models": {k: vars(v) for k, v in sorted(records.items())}}
        self.write_atomic(self.dir / INDEX, json.dumps(body, indent=1).encode())
        return rec

    # -- files ------------------------------------------------------------------------------------
    def write_atomic(self, target: Path, data: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix="." + target.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the index and cards are no secret
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def files(self) -> list[str]:
        return sorted(p.name for p in self.dir.glob("*.onnx")) if self.dir.is_dir() else []

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One fetch/import at a time per store (two would write the same `.part` file)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with exclusive(self.dir / ".lock"):
            yield


def store_for(settings: Settings) -> ModelStore:
    return ModelStore(settings.model_store_dir)


def shipped_card_names() -> list[str]:
    return sorted(read_card(p).file for p in CARDS_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class Located:
    """Where a configured model path resolved to (place None: found nowhere)."""

    path: Path
    place: str | None


def _search(settings: Settings) -> list[tuple[str, Path]]:
    base = Path(settings.base_dir) if settings.config_file else None  # no config: no config folder to name
    return model_search_dirs(base, settings.model_store_dir)


def locate(path: str, settings: Settings) -> Located:
    p = Path(os.path.expanduser(path))
    if p.is_absolute():
        return Located(p, "absolute path" if p.exists() else None)
    for place, folder in _search(settings):
        if (folder / p).exists():
            return Located(folder / p, place)
    return Located(settings.model_store_dir / p, None)


def missing_hint(path: str, settings: Settings) -> str:
    """The one line that says exactly which command brings a missing model in."""
    name = Path(path).name
    cfg = f" --config {settings.config_file}" if settings.config_file else ""
    searched = _search(settings)
    where = "" if Path(os.path.expanduser(path)).is_absolute() else \
        " (looked in " + ", ".join(f"{n} {d}" for n, d in searched) + ")"
    card = ModelStore(settings.model_store_dir).card(name)
    fetch = f"run `streetwarden models fetch {name}{cfg}`, or without internet " if card and card.download else "run "
    return (f"model file not found: {path}{where}: {fetch}"
            f"`streetwarden models import /path/to/{name}{cfg}`")


def require_model(path: str, settings: Settings) -> Path:
    """The model file, or ConfigError with the fetch/import command to run."""
    found = locate(path, settings)
    if found.place is None:
        raise ConfigError(missing_hint(path, settings))
    return found.path
