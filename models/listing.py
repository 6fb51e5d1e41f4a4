"""`streetwarden models list`: every model the configuration names and every file in the store,
with where it was found and what it is."""

from __future__ import annotations

from pathlib import Path

from streetwarden.config import Settings
from streetwarden.models.card import ModelCard
from streetwarden.models.onnx_check import inspect_onnx
from streetwarden.models.store import ModelStore, Record, locate, sha256_file, store_for

FIRST_LABELS = 5


def _entry(name: str, path_text: str, keys: list[str], settings: Settings, rec: Record | None) -> dict:
    found = locate(path_text, settings)  # not present: found.path is where fetch would put it
    present = found.place is not None
    card: ModelCard | None = ModelStore(found.path.parent).card(found.path.name)
    family, size, labels = (card.family, card.input_size, card.labels) if card else (None, None, ())
    error = None
    if present and (family is None or size is None):
        try:
            facts = inspect_onnx(found.path, card)
            family, size, labels = family or facts.family, size or facts.input_size, labels or facts.labels
        except Exception as err:  # ModelError: list it anyway and say why it will not load
            error = str(err)
    digest = sha256_file(found.path) if present else None
    expected = (card.download.sha256 if card and card.download else None) or (rec.sha256 if rec else None)
    return {
        "name": name, "config_keys": keys, "present": present, "path": str(found.path) if present else None,
        "found_in": found.place, "family": family, "input_size": size,
        "labels": {"count": len(labels), "first": list(labels[:FIRST_LABELS])},
        "licence": card.licence if card else None, "sha256": digest, "expected_sha256": expected,
        "verified": None if digest is None or expected is None else digest == expected,
        "tested_copy": None if digest is None or not (card and card.sha256) else digest == card.sha256,
        "trust": rec.trust if rec else ("pinned" if card and card.download and card.download.sha256 else None),
        "download": card.download.url if card and card.download else None, "error": error,
    }


def list_models(settings: Settings) -> dict:
    """{"store": folder, "models": [...]} : configured models first, then the rest of the store."""
    store = store_for(settings)
    records = store.records()
    by_name: dict[str, tuple[str, list[str]]] = {}
    for key, m in settings.models.items():
        name = Path(m.path).name
        by_name.setdefault(name, (m.path, []))[1].append(key)
    for name in [*store.files(), *records]:
        by_name.setdefault(name, (name, []))
    models = [_entry(n, p, keys, settings, records.get(n)) for n, (p, keys) in by_name.items()]
    return {"store": str(store.dir), "models": models}


def format_line(m: dict) -> str:
    keys = ",".join(m["config_keys"]) or "-"
    where = f"{m['found_in']}: {m['path']}" if m["present"] else "MISSING"
    labels = m["labels"]
    first = ", ".join(labels["first"]) + (", …" if labels["count"] > len(labels["first"]) else "")
    sha = m["sha256"] or m["expected_sha256"]
    check = {True: "verified", False: "DIFFERS from the recorded sha256", None: "unverified"}[m["verified"]]
    if not m["present"]:
        check = "expected" if sha else "no hash known"
    elif m["tested_copy"] is not None:
        check += "; " + ("the copy StreetWarden is tested with" if m["tested_copy"] else "not the copy StreetWarden is tested with")
    return (f"{m['name']} [{keys}] {where}\n    {m['family'] or '?'} {m['input_size'] or '?'}px, "
            f"{labels['count']} labels ({first}), licence {m['licence'] or '?'}\n"
            f"    sha256 {sha or '-'} ({check}{', ' + m['trust'] if m['trust'] else ''})"
            + (f"\n    error: {m['error']}" if m["error"] else ""))
