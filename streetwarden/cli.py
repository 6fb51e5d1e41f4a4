"""`streetwarden` command line: detect, run, candidates, config-doc (serve/users come with the API)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from streetwarden.config import ConfigError, Settings, load_settings, parse_settings

log = logging.getLogger("streetwarden.cli")


class UserError(Exception):
    """Something the user can fix; printed as one line without a traceback."""


Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def register(name: str, help_text: str, fn: Command, configure: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add a sub-command (later stages add theirs, e.g. `serve`, `users`)."""
    COMMANDS[name] = (fn, configure, help_text)


# ---------------------------------------------------------------- detect
def _detect(args: argparse.Namespace) -> int:
    import cv2

    from streetwarden.models import OnnxDetector
    from streetwarden.models.store import require_model

    settings = _settings_or_defaults(args.config)
    model = require_model(args.model or settings.models["default"].path, settings)
    detector = OnnxDetector(model, score_threshold=args.score, threads=args.threads)
    status = 0
    for image_path in args.images:
        image = cv2.imread(image_path, cv2.IMREAD_COLOR)
        if image is None:
            print(f"streetwarden: error: cannot read image {image_path} (missing or not an image)", file=sys.stderr)
            status = 2
            continue
        dets = detector.detect(image)
        items = [{"label": n, "score": round(float(s), 4), "box": [round(float(v), 1) for v in b]}
                 for n, s, b in zip(dets.label_names(), dets.score, dets.xyxy)]
        if args.json:
            print(json.dumps({"image": image_path, "detections": items}, ensure_ascii=False))
        else:
            print(f"{image_path}: {len(items)} objects")
            for it in items:
                print(f"  {it['label']:<14} {it['score']:.2f}  {it['box']}")
    return status


def _detect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--model", help="ONNX model (default: the config's `default` model, yolox_nano_coco_416.onnx); "
                   "a relative path is looked up in $STREETWARDEN_MODELS, the model store, the config's folder")
    p.add_argument("--config", help="YAML configuration file (for its model store); without it: ./data/models")
    p.add_argument("--score", type=float, default=0.25, help="minimum score (default 0.25)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = all cores)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")


register("detect", "Run a model on images and print what it finds.", _detect, _detect_args)


def _settings_or_defaults(config: str | None) -> Settings:
    """The config file's settings, or the defaults relative to the current folder (model store ./data/models)."""
    return load_settings(config) if config else parse_settings({}, origin="defaults")


# ---------------------------------------------------------------- models
def _models(args: argparse.Namespace) -> int:
    settings = _settings_or_defaults(args.config)
    if args.models_command == "list":
        from streetwarden.models.listing import format_line, list_models

        out = list_models(settings)
        from streetwarden.registry_commands import registry_rows

        out["registry"] = registry_rows(settings) or []
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=1))
        else:
            print(f"model store: {out['store']}")
            for m in out["models"]:
                print(format_line(m))
            for r in out["registry"]:
                where = ",".join(r["cameras"]) or ("every camera" if r["state"] == "active" else "-")
                print(f"registry {r['ref']} {r['state']} [{where}] {r['family'] or '?'} {r['file']} sha256 {r['sha256']} "
                      f"slot {r['slot'] or '(own model)'}")
        return 0 if all(m["present"] for m in out["models"] if m["config_keys"]) else 1
    from streetwarden.registry_commands import ACTIONS, run as registry_run

    if args.models_command in ACTIONS:
        return registry_run(args, settings)
    try:
        if args.models_command == "fetch":
            from streetwarden.models.fetch import fetch

            notes = fetch(args.name, settings, mirror=args.mirror).notes
        else:
            from streetwarden.models.importing import import_model

            notes = import_model(Path(args.file), settings, name=args.name, replace=args.replace).notes
    except OSError as err:  # e.g. a read-only store ($STREETWARDEN_MODELS on a shared mount)
        raise UserError(f"cannot write the model store {settings.model_store_dir}: {err.strerror or err} "
                        f"({err.filename or ''}); set `model_store.path` or $STREETWARDEN_MODELS to a writable folder") from None
    print("\n".join(notes))
    return 0


def _models_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    cfg = "YAML configuration file (for `model_store`); without it the store is ./data/models"
    q = sub.add_parser("list", help="the configured and stored models: where, what, sha256, present or not")
    q.add_argument("--config", help=cfg)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q = sub.add_parser("fetch", help="download a model its card names, verify it, put it in the model store")
    q.add_argument("name", help="model file name (yolox_nano_coco_416.onnx) or a key of the config's `models`")
    q.add_argument("--config", help=cfg)
    q.add_argument("--mirror", help="base URL serving the file under its download name (overrides "
                   "$STREETWARDEN_MODEL_MIRROR and `model_store.mirror`)")
    q = sub.add_parser("import", help="copy a model file (and the card beside it) into the model store, checked")
    q.add_argument("file", help="the .onnx file (a NAME.yaml card beside it is copied too)")
    q.add_argument("--name", help="file name in the store (default: the file's own name)")
    q.add_argument("--config", help=cfg)
    q.add_argument("--replace", action="store_true", help="replace a stored model whose sha256 differs")
    from streetwarden.registry_commands import add_arguments

    add_arguments(sub, cfg)


register("models", "Model files: `models list`, `models fetch NAME`, `models import FILE` (offline); the registry: "
         "`models register|shadow|promote|rollback|shadow-report`.", _models, _models_args)


# ---------------------------------------------------------------- run
def _run(args: argparse.Namespace) -> int:
    from streetwarden.camera_adapters import SourceError
    from streetwarden.pipeline.worker import Worker
    from streetwarden.store.db import Database
    from streetwarden.progress import Progress

    settings = load_settings(args.config)
    db = Database(settings.database_url)
    db.upgrade()
    keeper = None
    if not args.once:  # live: a node like any other, so it never doubles another worker's cameras
        from streetwarden.pipeline.node import node_leases

        keeper = node_leases(settings, db)  # a second live process on SQLite: one line saying PostgreSQL is needed
    worker = Worker(settings, db, once=args.once, leases=keeper)
    if keeper is not None:
        keeper.start()
    if args.once:
        try:
            worker.open_all()
        except SourceError as err:
            raise UserError(f"{err} (check `source` of the camera in {args.config})") from None
    total = 0
    for r in worker.runners:
        src = r.source
        count = getattr(src, "frame_count", 0)
        fps = getattr(src, "native_fps", 0)
        if count and fps:
            total += int(count / fps * r.cam.analysis_fps) + 1
        elif hasattr(src, "files"):
            total += len(src.files)
    progress = Progress("analysed", total or None)
    worker.on_batch = progress.add
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    hooks = None
    if settings.webhooks.url:  # notices and cases raised while running are announced as they happen
        from streetwarden.pipeline.webhooks import WebhookDeliverer

        hooks = WebhookDeliverer(db, settings.webhooks).start()
    try:
        stats = worker.run()
    except KeyboardInterrupt:
        worker.stop()
        stats = worker.stats
    finally:
        if keeper is not None:
            keeper.stop(hand_over=True)
        if hooks is not None:
            hooks.stop()
    progress.print()
    print(json.dumps({"frames": stats["frames"], "events": stats["events"], "candidates_created": stats["created"]}))
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--once", action="store_true", help="stop when every file source has ended (batch use)")


register("run", "Run the camera workers (no web server).", _run, _run_args)


# ---------------------------------------------------------------- masks
def _masks(args: argparse.Namespace) -> int:
    """Read the camera's first minutes and propose masks over changing overlay text (never applied)."""
    from streetwarden.logs import event
    from streetwarden.pipeline.mask_suggest import suggest_for_camera
    from streetwarden.pipeline.worker import build_detectors

    settings = load_settings(args.config)
    cam = next((c for c in settings.cameras if c.id == args.camera), None)
    if cam is None:
        raise UserError(f"no camera '{args.camera}' in {args.config} (cameras: {', '.join(c.id for c in settings.cameras) or 'none'})")
    detector = build_detectors(settings, {cam.model})[cam.model] if not args.no_detector else None
    masks = suggest_for_camera(settings, cam, args.seconds, detector.detect if detector is not None else None).masks
    event(log, "masks_suggested", camera=cam.id, seconds=args.seconds, masks=masks)
    if args.json:
        print(json.dumps({"camera": cam.id, "masks": masks}))
    elif masks:
        print(f"# {len(masks)} overlay text line(s) on camera {cam.id}; add the right ones under the camera in {args.config}:")
        print("masks:")
        for m in masks:
            print("  - " + json.dumps([list(p) for p in m]))
    else:
        print(f"no changing overlay text found on camera {cam.id} in its first {args.seconds:g} s")
    return 0


def _masks_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="masks_command", metavar="ACTION", required=True)
    q = sub.add_parser("suggest", help="propose masks over burned-in date/time text (printed, never applied)")
    q.add_argument("--config", required=True, help="YAML configuration file")
    q.add_argument("--camera", required=True, help="camera id")
    q.add_argument("--seconds", type=float, default=120.0, help="how much of the stream to read (default 120)")
    q.add_argument("--no-detector", action="store_true", help="do not leave detected people and vehicles out (faster)")
    q.add_argument("--json", action="store_true", help="print one JSON object")


register("masks", "Camera masks: `masks suggest` proposes masks over changing overlay text.", _masks, _masks_args)


# ---------------------------------------------------------------- worker (a node of many)
def _worker(args: argparse.Namespace) -> int:
    from streetwarden.pipeline.node import run_node

    stats = run_node(load_settings(args.config))  # a second worker on SQLite: one line saying PostgreSQL is needed
    print(json.dumps({"frames": stats["frames"], "events": stats["events"], "candidates_created": stats["created"]}))
    return 0


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML configuration file (`cluster` says lease time, capacity, health port)")


register("worker", "Run a worker-only node: takes its share of the cameras by lease (PostgreSQL for many nodes).",
         _worker, _worker_args)


# ---------------------------------------------------------------- webhooks
def _webhooks(args: argparse.Namespace) -> int:
    import threading

    from streetwarden.pipeline.webhooks import WebhookDeliverer
    from streetwarden.store.db import Database

    settings = load_settings(args.config)
    db = Database(settings.database_url)
    db.upgrade()
    deliverer = WebhookDeliverer(db, settings.webhooks)
    if args.once:
        sent = 0
        while (n := deliverer.run_once()) > 0:
            sent += n
        print(json.dumps({"attempted": sent, **deliverer.stats}))
        return 0
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    deliverer.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    deliverer.stop()
    print(json.dumps(deliverer.stats))
    return 0


def _webhooks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--once", action="store_true", help="send what is due now, then stop")


register("webhooks", "Deliver queued webhooks to the case-management system (runs until stopped).", _webhooks, _webhooks_args)


# ---------------------------------------------------------------- candidates
def candidate_json(row) -> dict:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    def when(t: float):
        return round(t, 2) if not row.live else datetime.fromtimestamp(t, timezone.utc).isoformat()

    return {
        "id": row.id, "camera_id": row.camera_id, "zone_id": row.zone_id, "violation": row.violation,
        "label": row.label, "score": round(row.score, 4), "status": row.status,
        "first_seen": when(row.first_seen), "last_seen": when(row.last_seen), "active": row.active,
        "box": row.box, "attributes": row.attributes or {},
        "evidence": [{"kind": e.kind, "path": e.path, "sha256": e.sha256} for e in row.evidence],
    }


def _candidates(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from streetwarden.store.db import Database
    from streetwarden.store.schema import Candidate

    settings = load_settings(args.config)
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        q = select(Candidate).order_by(Candidate.id)
        if args.status:
            q = q.where(Candidate.status == args.status)
        rows = [candidate_json(r) for r in s.scalars(q).all()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"#{r['id']:<5} {r['camera_id']:<12} {r['zone_id']:<10} {r['violation']:<17} {r['label']:<10} "
                  f"{r['score']:.2f} {r['first_seen']} → {r['last_seen']} {r['status']}")
        print(f"{len(rows)} candidates")
    return 0


def _candidates_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--status", help="only this status (pending, warned, case, rejected)")


register("candidates", "List the candidates in the database.", _candidates, _candidates_args)


# ---------------------------------------------------------------- config
def _config_doc(args: argparse.Namespace) -> int:
    from streetwarden.config import describe_settings

    if args.config:
        from streetwarden.preflight import check_settings

        problems = check_settings(load_settings(args.config), args.config)
        if problems:
            print("\n".join(f"streetwarden: error: {line}" for line in problems), file=sys.stderr)
            return 2
        print(f"{args.config}: OK")
        return 0
    print(describe_settings())
    return 0


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="check this file (and the model files, sources and secrets it needs) "
                   "instead of printing the reference")


register("config-doc", "Describe every configuration field, or check a file with --config.", _config_doc, _config_args)


# ---------------------------------------------------------------- db
def _db(args: argparse.Namespace) -> int:
    from streetwarden.store.db import Database
    from streetwarden.store.migrate import status, upgrade

    settings = load_settings(args.config)
    db = Database(settings.database_url)
    if args.db_command == "upgrade":
        before = upgrade(db.engine)
        after = status(db.engine)
        out = {"from": before.current, "to": after.current, "applied": list(before.pending)}
        text = (f"upgraded {before.current or 'empty database'} → {after.current} ({len(before.pending)} revisions)"
                if before.pending else f"already at {after.current}, nothing to do")
    else:
        now = status(db.engine)
        out = {"current": now.current, "head": now.head, "pending": list(now.pending), "up_to_date": now.up_to_date}
        text = (f"at {now.current}, up to date" if now.up_to_date else
                f"at {now.current or 'no revision (empty, or made before migrations)'}; {len(now.pending)} to apply "
                f"({', '.join(now.pending)}): run `streetwarden db upgrade --config {args.config}` "
                "(services also upgrade when they start)")
    print(json.dumps(out) if args.json else text)
    return 0


def _db_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, help_text in (("status", "the database's schema revision against this version's newest"),
                            ("upgrade", "apply the missing schema migrations (one process at a time)")):
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--config", required=True, help="YAML configuration file")
        q.add_argument("--json", action="store_true", help="print one JSON object")


register("db", "Schema migrations: `db status` and `db upgrade` (services upgrade by themselves at start).", _db, _db_args)


def _load_plugins() -> None:
    """Commands defined by later stages (api: serve, users; datasets: dataset, train)."""
    for mod in ("streetwarden.api.cli", "streetwarden.datasets.cli"):
        try:
            __import__(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="streetwarden", description="StreetWarden: urban-management violations from street cameras.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (fn, configure, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import OperationalError

    from streetwarden.camera_adapters import SourceError
    from streetwarden.models import ModelError
    from streetwarden.store.migrate import SchemaError
    from streetwarden.store.model_registry.service import RegistryError
    from streetwarden.logs import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.log_level)
    try:
        return args.func(args)
    except (ConfigError, ModelError, SourceError, SchemaError, UserError, RegistryError) as err:
        print(f"streetwarden: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OperationalError as err:
        from streetwarden.redact import mask_url

        print(f"streetwarden: error: database unavailable: {mask_url(str(err.orig))} "
              "(check `database` in the config and that the server is running)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # `python3 -m streetwarden.cli`: run the importable module's main, where plugins (serve, users) register
    from streetwarden.cli import main as _main

    sys.exit(_main())
