"""`streetwarden models register|shadow|promote|rollback|shadow-report` and the registry part of
`models list`: the CLI side of store/model_registry (the main path; the API has the same checks)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from streetwarden.config import Settings
from streetwarden.redact import mask_url

ACTIONS = ("register", "shadow", "promote", "rollback", "shadow-report")


def _db(settings: Settings):  # type: ignore[no-untyped-def]
    from streetwarden.store.db import Database

    db = Database(settings.database_url)
    db.upgrade()
    return db


def _cameras(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def registry_rows(settings: Settings) -> list[dict] | None:
    """The registry for `models list` (None: no database yet, nothing registered)."""
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    from sqlalchemy.exc import OperationalError

    from streetwarden.store.model_registry.service import as_json, versions

    try:
        with _db(settings).session() as s:
            return [as_json(r) for r in versions(s)]
    except OperationalError as err:  # the files are still worth listing
        print(f"note: registry not shown, database unavailable: {mask_url(str(err.orig))}", file=sys.stderr)
        return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from streetwarden.store.model_registry import service
    from streetwarden.store.model_registry.report import format_report, shadow_report
    from streetwarden.store.model_registry.register import register_file

    from streetwarden.store.model_registry.cameras import camera_models

    actor = args.actor or getpass.getuser()
    reason = getattr(args, "reason", None)
    slot_keys = set(settings.models) if args.config else None  # without a configuration: any slot name
    service.check_slot_key(getattr(args, "slot", None), slot_keys)
    db = _db(settings)
    if args.models_command == "register":
        row = register_file(settings, db, Path(args.file), args.name, actor, reason, args.score_threshold,
                            args.slot, slot_keys)
        print(f"registered {row.ref} ({row.family}, sha256 {row.sha256}, for {service.slot_words(row.slot)}) as a "
              f"candidate, file {row.file}; next: `streetwarden models shadow {row.ref} --cameras CAMERA` or "
              f"`streetwarden models promote {row.ref}`")
        return 0
    if args.models_command == "shadow-report":
        with db.session() as s:
            report = shadow_report(s, args.ref)
        print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else format_report(report))
        return 0
    with db.session() as s:
        known = camera_models(s, settings)
        if args.models_command == "shadow":
            row = service.shadow(s, args.ref, _cameras(args.cameras), actor, reason, known)
            line = f"{row.ref} now shadows on {', '.join(row.cameras)} (workers pick it up within seconds)"
        elif args.models_command == "promote":
            row = service.promote(s, args.ref, _cameras(args.cameras), actor, reason, known)
            where = ", ".join(row.cameras) if row.cameras else "every camera"
            line = (f"{row.ref} is active on {where} for {service.slot_words(row.slot)}"
                    + (", replacing the version kept for rollback" if row.previous_id else ""))
        else:
            gone, back = service.rollback(s, _cameras(args.cameras), actor, reason, known, args.slot)
            line = f"retired {gone.ref}; " + (f"{back.ref} is active again" if back else "the configuration's models run again")
    print(line)
    return 0


def add_arguments(sub, cfg: str) -> None:  # type: ignore[no-untyped-def]
    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", help=cfg)
        q.add_argument("--actor", help="who does it, for the audit log (default: the OS user)")
        q.add_argument("--reason", help="why, for the audit log")

    q = sub.add_parser("register", help="check a model file, put it in the store and the registry as a candidate version")
    q.add_argument("file", help="the .onnx file (its card NAME.yaml beside it is read: classes, metrics)")
    q.add_argument("--name", help="registry name (default: the file's stem); versions count up per name")
    q.add_argument("--score-threshold", type=float, help="this version's score threshold (default: the camera's model's)")
    q.add_argument("--slot", help="the key of `models` it stands in for, e.g. garbage for a camera's extra model "
                   "(default: each camera's own `model`); every version of a name has the same slot")
    common(q)
    q = sub.add_parser("shadow", help="run NAME@VERSION beside the active model on --cameras, recording what it would raise")
    q.add_argument("ref", help="NAME@VERSION")
    q.add_argument("--cameras", required=True, help="comma-separated camera ids")
    common(q)
    q = sub.add_parser("promote", help="make NAME@VERSION the active model (of --cameras, or every camera); running workers switch")
    q.add_argument("ref", help="NAME@VERSION")
    q.add_argument("--cameras", help="comma-separated camera ids (default: every camera)")
    common(q)
    q = sub.add_parser("rollback", help="retire the active version of a slot (of exactly --cameras) and bring back the "
                       "one it replaced")
    q.add_argument("--cameras", help="the same cameras it was promoted on (default: every camera)")
    q.add_argument("--slot", help="the slot it was registered for, e.g. garbage (default: the cameras' own `model`, "
                   "versions registered without --slot); `models list` shows each version's slot")
    common(q)
    q = sub.add_parser("shadow-report", help="compare a shadow model's would-be candidates with the reviewers' decisions")
    q.add_argument("ref", help="NAME@VERSION")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    common(q)
