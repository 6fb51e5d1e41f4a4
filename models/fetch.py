"""`streetwarden models fetch`: download a model its card names, verify it, and rename it into the store.

Trust: a card that pins sha256 (and size) is checked; a card that cannot pin them gets trust on
first use: the first download's sha256 goes into the store's index and every later download must
match it. Nothing reaches the final file name before it is verified and loads as the card's family.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from streetwarden.config import ConfigError, Settings
from streetwarden.logs import event
from streetwarden.models.card import Download, ModelCard
from streetwarden.models.download import FetchError, discard, download
from streetwarden.models.onnx_check import check_against_card
from streetwarden.models.store import ModelStore, check_name, sha256_file, shipped_card_names, store_for

log = logging.getLogger("streetwarden.models")


@dataclass
class FetchResult:
    path: Path
    sha256: str
    trust: str
    notes: list[str] = field(default_factory=list)


def model_name(name: str, settings: Settings) -> str:
    """NAME may be a key of the config's `models` (e.g. default) or a file name, with or without .onnx."""
    if name in settings.models:
        return check_name(Path(settings.models[name].path).name)
    return check_name(name)


def source_url(dl: Download, mirror: str | None) -> str:
    """The card's address, or the same file name under the mirror's base address."""
    if not mirror:
        return dl.url
    if not mirror.startswith(("http://", "https://")):
        raise ConfigError(f"mirror: must start with http:// or https://, got '{mirror}'")
    return mirror.rstrip("/") + "/" + dl.file_name


def _card_with_download(store: ModelStore, name: str) -> tuple[ModelCard, Download]:
    card = store.card(name)
    if card is None or card.download is None:
        known = ", ".join(n for n in shipped_card_names() if (c := store.card(n)) and c.download)
        why = "has no model card" if card is None else f"has no download address in {card.path}"
        raise FetchError(f"{name} {why}: fetch knows {known or 'no models'}; bring other files in with "
                         f"`streetwarden models import FILE --name {name}`")
    return card, card.download


def _expected(store: ModelStore, name: str, dl: Download) -> tuple[str | None, str]:
    """(sha256 the file must have, why): the card's pin, else the first download's record."""
    if dl.sha256:
        return dl.sha256, "pinned"
    rec = store.records().get(name)
    return (rec.sha256, "first-use") if rec else (None, "first-use")


def _verify(part: Path, name: str, card: ModelCard, dl: Download, expected: str | None, trust: str, url: str) -> str:
    """sha256 of the verified .part; FetchError (and the .part discarded) when anything is off."""
    size = part.stat().st_size
    problem = None
    if dl.size is not None and size != dl.size:
        problem = f"it is {size} bytes, the card says {dl.size}"
    digest = sha256_file(part)
    if problem is None and expected and digest != expected:
        why = "the card pins" if trust == "pinned" else "was recorded at its first download (trust on first use)"
        problem = f"its sha256 {digest} differs from {expected}, which {why}"
    if problem is None:
        try:
            check_against_card(part, card, name)
        except Exception as err:  # ModelError: not ONNX, or another family than the card
            problem = str(err).replace(str(part) + ": ", "")
    if problem:
        discard(part)
        raise FetchError(f"refused {name} from {url}: {problem}; nothing was stored")
    return digest


def _already_there(store: ModelStore, name: str, dl: Download, target: Path) -> FetchResult:
    expected, trust = _expected(store, name, dl)
    digest = sha256_file(target)
    if expected is not None and digest != expected:
        raise FetchError(f"{target} is in the store but its sha256 {digest} differs from {expected} ({trust}); "
                         "delete it and fetch again")
    check = f"matches the {'pinned' if trust == 'pinned' else 'recorded'} sha256" if expected else "no pinned or recorded hash"
    return FetchResult(target, digest, trust, [f"{name} is already in the store: {target} (sha256 {digest}, {check})"])


def fetch(name: str, settings: Settings, mirror: str | None = None, stream: IO[str] | None = None) -> FetchResult:
    """Download `name` into the model store (or confirm the stored copy), verified."""
    name = model_name(name, settings)
    store = store_for(settings)
    card, dl = _card_with_download(store, name)
    url = source_url(dl, mirror or settings.model_mirror)
    target, part = store.path(name), store.path(name + ".part")
    if target.exists():  # checked, never written: the store may be a read-only shared folder
        return _already_there(store, name, dl, target)
    with store.locked():
        expected, trust = _expected(store, name, dl)
        got = download(url, part, f"downloading {name}", stream)
        digest = _verify(part, name, card, dl, expected, trust, url)
        os.replace(part, target)
        discard(part)  # the .part.json that described it
        notes = [f"stored {name} ({got.size} bytes, sha256 {digest}) in {target}"]
        if got.range_sent:
            notes.append(f"resumed an interrupted download at byte {got.resumed_from}")
        if trust == "first-use" and expected is None:
            notes.append(f"the card cannot pin this file's sha256, so this first download is trusted and its sha256 is "
                         f"recorded in {store.dir / 'index.json'}; a later download that differs will be refused")
            if card.sha256:
                same = digest == card.sha256
                notes.append(f"it {'matches' if same else 'DIFFERS from'} the copy StreetWarden is tested with "
                             f"(sha256 {card.sha256})")
        store.record(name, digest, got.size, trust, url)
    event(log, "model_fetched", model=name, url=url, sha256=digest, trust=trust, size=got.size,
          resumed_from=got.resumed_from)
    return FetchResult(target, digest, trust, notes)
