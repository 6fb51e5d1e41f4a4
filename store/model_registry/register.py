"""`streetwarden models register FILE`: a checked model file into the store and the registry.

The file is checked as `models import` checks it (loads, is what the card beside it says), copied
into the model store as `<name>-v<version>.onnx` (every version keeps its own file, so a rollback
always finds the one it goes back to), and recorded as a `candidate` with its card, metrics and the
slot (configured model) it stands in for.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import yaml

from streetwarden.config import ConfigError, Settings
from streetwarden.models.card import read_card
from streetwarden.models.importing import import_model
from streetwarden.models.onnx_check import check_against_card
from streetwarden.store.db import Database
from streetwarden.store.model_registry.models import ModelVersion
from streetwarden.store.model_registry.service import (NAME_RE, RegistryError, add_version, check_family, check_slot,
                                                        check_slot_key, next_version)


def _card(source: Path) -> tuple[dict, object]:
    beside = source.with_suffix(".yaml")
    if not beside.is_file():
        return {}, None
    try:
        raw = yaml.safe_load(beside.read_text(encoding="utf-8")) or {}
        return (raw if isinstance(raw, dict) else {}), read_card(beside, source.name)
    except (ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"{beside}: unreadable model card ({err}); fix it or move it away and register again") from None


def register_file(settings: Settings, db: Database, source: Path, name: str | None, actor: str,
                  reason: str | None = None, score_threshold: float | None = None, slot: str | None = None,
                  slot_keys: Collection[str] | None = None) -> ModelVersion:
    """slot: the key of `models` it stands in for (None: the cameras' own model), one of slot_keys if given."""
    if not source.is_file():
        raise ConfigError(f"{source}: no such file (give the path of the .onnx file to register)")
    name = name or source.stem
    if not NAME_RE.match(name):
        raise RegistryError(f"--name: '{name}' is not a model name (letters, digits, '-', '_', '.')", "model_ref_invalid")
    if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
        raise RegistryError(f"--score-threshold must be in 0..1 (got {score_threshold})", "invalid_request")
    check_slot_key(slot, slot_keys)
    raw, card = _card(source)
    facts = check_against_card(source, card, source.name)  # wrong family for its card: one line, before any copy
    with db.session() as s:
        check_family(s, name, facts.family)
        check_slot(s, name, slot)
        version = next_version(s, name)
    file_name = f"{name}-v{version}.onnx"
    imported = import_model(source, settings, name=file_name)
    metrics = raw.get("metrics") if isinstance(raw.get("metrics"), dict) else {}
    with db.session() as s:
        row = add_version(s, name, file_name, imported.sha256, facts.family,
                          _jsonable(raw) | {"classes": list(facts.labels)}, _jsonable(metrics), score_threshold,
                          actor, reason, slot)
        s.flush()
        return row


def _jsonable(value: object) -> dict:
    import json

    return json.loads(json.dumps(value, default=str)) if isinstance(value, dict) else {}
