"""`streetwarden models import FILE`: the air-gapped way in. Copies a model (and the card beside it,
if any) into the store after checking it loads and is what its card describes."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from streetwarden.config import ConfigError, Settings
from streetwarden.logs import event
from streetwarden.models.card import ModelCard, read_card
from streetwarden.models.detector import ModelError
from streetwarden.models.onnx_check import OnnxFacts, check_against_card
from streetwarden.models.store import ModelStore, check_name, sha256_file, store_for

log = logging.getLogger("streetwarden.models")


@dataclass(frozen=True)
class Imported:
    path: Path
    sha256: str
    facts: OnnxFacts
    card: ModelCard | None
    notes: list[str]


def _card_for(source: Path, store: ModelStore, name: str) -> tuple[ModelCard | None, Path | None]:
    """A card beside FILE travels with it; else the store's or the shipped card for `name`."""
    beside = source.with_suffix(".yaml")
    if beside.is_file():
        try:
            return read_card(beside, name), beside
        except ValueError as err:
            raise ConfigError(str(err)) from None
    return store.card(name), None


def import_model(source: Path, settings: Settings, name: str | None = None, replace: bool = False) -> Imported:
    if not source.is_file():
        raise ConfigError(f"{source}: no such file (give the path of the .onnx file to import)")
    name = check_name(name or source.name, "--name")
    store = store_for(settings)
    card, card_file = _card_for(source, store, name)
    facts = check_against_card(source, card, name)
    digest = sha256_file(source)
    target = store.path(name)
    notes: list[str] = []
    with store.locked():
        rec = store.records().get(name)
        pinned = card.download.sha256 if card and card.download else None
        if pinned and digest != pinned and not replace:
            raise ModelError(f"{source}: sha256 {digest} differs from the {pinned} its card pins for {name}; "
                             "import it under its own --name (or --replace to override the card)")
        if rec and rec.sha256 != digest and not replace:
            raise ModelError(f"{source}: sha256 {digest} differs from the {name} recorded in the store ({rec.sha256}, "
                             f"{rec.trust}); add --replace to swap it")
        if target.exists() and target.samefile(source):
            notes.append(f"{source} is already the store's copy")
        else:
            tmp = store.path("." + name + ".import.tmp")
            try:
                shutil.copyfile(source, tmp)
                tmp.replace(target)  # atomic: the final name never holds a half copy
            finally:
                tmp.unlink(missing_ok=True)
        if card_file is not None:
            store.write_atomic(target.with_suffix(".yaml"), card_file.read_bytes())
            notes.append(f"copied its card {card_file.name} to {target.with_suffix('.yaml')}")
        store.record(name, digest, target.stat().st_size, "imported", str(source.resolve()))
    if card is not None and card.sha256:
        notes.append(f"it {'matches' if digest == card.sha256 else 'differs from'} the copy StreetWarden is "
                     f"tested with (sha256 {card.sha256})")
    event(log, "model_imported", model=name, source=str(source), sha256=digest, family=facts.family)
    return Imported(target, digest, facts, card, [f"imported {name} ({facts.family}, input {facts.input_size}, "
                                                  f"sha256 {digest}) into {target}", *notes])
