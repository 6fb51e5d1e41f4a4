"""`streetwarden dataset export|import` (reviewed candidates to a YOLO dataset, checking one), `train` and `evaluate`."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from streetwarden.cli import UserError, register


def _since(value: str) -> float:
    """ISO date or date-time (UTC unless it names a zone) → epoch seconds."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since {value!r} is not a date: use 2026-11-01 or 2026-11-01T08:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _csv(values: list[str] | None) -> tuple[str, ...]:
    return tuple(sorted({v.strip() for item in values or [] for v in item.split(",") if v.strip()}))


def _export(args: argparse.Namespace) -> int:
    from streetwarden.config import load_settings
    from streetwarden.datasets.export import ExportError, ExportOptions, write_dataset
    from streetwarden.datasets.sources import Filters, reviewed_sources
    from streetwarden.store.db import Database
    from streetwarden.vocabulary import VIOLATIONS

    settings = load_settings(args.config)
    violations = _csv(args.violation)
    unknown = [v for v in violations if v not in VIOLATIONS]
    if unknown:
        raise UserError(f"--violation: unknown {', '.join(unknown)} (one of {', '.join(VIOLATIONS)})")
    if not 0.0 <= args.val_fraction < 1.0:
        raise UserError(f"--val-fraction must be in 0..1 (got {args.val_fraction})")
    filters = Filters(since=args.since, violations=violations, cameras=_csv(args.camera))
    db = Database(settings.database_url)
    with db.session() as s:
        sources = reviewed_sources(s, settings.storage_path, filters)
    options = ExportOptions(classes=tuple(c.strip() for c in (args.classes or "").split(",") if c.strip()),
                            period_hours=args.period_hours, val_fraction=args.val_fraction)
    recorded = {"since": args.since, "violations": list(violations), "cameras": list(filters.cameras)}
    try:
        result = write_dataset(sources, Path(args.out), options, recorded)
    except ExportError as err:
        raise UserError(str(err)) from None
    for note in result.notes:
        print(f"note: {note}")
    c = result.counts
    print(f"exported {c['images']} images to {result.out} (train {c['train']}, val {c['val']}): {c['boxes']} boxes "
          f"({c['corrected']} corrected by reviewers), "
          f"{c['negatives']} hard negatives; dropped {c['near_duplicates']} near-duplicate frames, "
          f"left out {c['excluded']} candidates (see manifest.json); manifest sha256 {result.manifest_sha256}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from streetwarden.datasets.yolo_check import check_dataset

    root = Path(args.dir)
    if not root.exists():
        raise UserError(f"{root}: no such folder (give the folder with data.yaml)")
    report = check_dataset(root)
    if args.json:
        print(json.dumps({"root": str(root), "names": report.names, "images": report.images,
                          "boxes": {report.names[i] if i < len(report.names) else str(i): n
                                    for i, n in sorted(report.boxes.items())},
                          "problems": report.problems}, ensure_ascii=False))
    else:
        for line in report.problems:
            print(f"problem: {line}")
        print(report.summary())
    return 1 if report.problems else 0


def _dataset_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    q = sub.add_parser("export", help="reviewed candidates → a YOLO dataset (images, labels, data.yaml, manifest.json)")
    q.add_argument("--config", required=True, help="YAML configuration file (its database and storage)")
    q.add_argument("--out", required=True, help="output folder (new, empty, or an earlier export to replace)")
    q.add_argument("--since", type=_since, help="only candidates seen since this UTC date/time (2026-11-01)")
    q.add_argument("--violation", action="append", help="only these violations (repeat or comma-separate)")
    q.add_argument("--camera", action="append", help="only these camera ids (repeat or comma-separate)")
    q.add_argument("--classes", help="class order, comma-separated (default: the confirmed labels, sorted)")
    q.add_argument("--period-hours", type=float, default=24.0,
                   help="length of the camera-periods the split keeps whole (default 24)")
    q.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of each camera's periods held back for val, the most recent (default 0.2)")
    q = sub.add_parser("import", help="check an existing YOLO dataset: labels, names, images, duplicates between splits")
    q.add_argument("dir", help="the dataset folder (with data.yaml)")
    q.add_argument("--json", action="store_true", help="print one JSON object")


def _train(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise UserError("training needs the [train] extra (PyTorch), which is not installed: "
                        "pip install 'streetwarden[train]' (on a machine without internet: pip install torch-*.whl)") from None
    from streetwarden.datasets.onnx_to_torch import ConversionError
    from streetwarden.datasets.train import Run, TrainArgs, TrainError

    from streetwarden.cli import _settings_or_defaults
    from streetwarden.models.store import require_model

    base = require_model(args.base, _settings_or_defaults(args.config))  # $STREETWARDEN_MODELS, the store, …
    data = Path(args.data)
    run_dir = Path(args.run) if args.run else Path("runs") / f"{data.resolve().name}-{args.imgsz}"
    try:
        Run(TrainArgs(data=str(data.resolve()), base=str(base.resolve()), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                      lr=args.lr, device=args.device, seed=args.seed, augment=args.augment,
                      plain_epochs=args.plain_epochs), run_dir).run()
    except (TrainError, ConversionError) as err:
        raise UserError(str(err)) from None
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="YOLO dataset folder (with data.yaml), e.g. from `dataset export`")
    p.add_argument("--base", required=True, help="ONNX model to start from: YOLOX-Nano (e.g. yolox_nano_coco_416.onnx) or YOLOv8n "
                   "(e.g. yolov8n_coco_int8_640.onnx; the network and loss follow its family); "
                   "a bare name is looked up like `detect --model` ($STREETWARDEN_MODELS, the model store, …)")
    p.add_argument("--config", help="YAML configuration file (for its model store); without it: ./data/models")
    p.add_argument("--epochs", type=int, required=True, help="passes over the training images")
    p.add_argument("--imgsz", type=int, default=320, help="square input size, a multiple of 32 (default 320)")
    p.add_argument("--batch", type=int, default=8, help="images per step (default 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 0.001, cosine decay)")
    p.add_argument("--device", default="auto", help="auto (a CUDA GPU when present, else CPU), cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="shuffling / augmentation seed (default 0)")
    p.add_argument("--augment", default="mosaic", help="mosaic (default: four images per input, random scale, shift, "
                   "colour and flip) or flip (plain images, mirrored half the time)")
    p.add_argument("--plain-epochs", type=int, help="with mosaic: how many last epochs see plain images "
                   "(default a sixth of --epochs)")
    p.add_argument("--run", help="run folder (default runs/<dataset>-<imgsz>); the same command resumes it")


register("train", "Fine-tune YOLOX-Nano or YOLOv8n on a YOLO dataset from a model the deployment has; writes model.onnx + card.",
         _train, _train_args)


def _dataset(args: argparse.Namespace) -> int:
    return _export(args) if args.dataset_command == "export" else _import(args)


register("dataset", "Training data: `dataset export` (reviewed candidates → YOLO dataset) and `dataset import` (check one).",
         _dataset, _dataset_args)


def _evaluate(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from streetwarden.cli import _settings_or_defaults
    from streetwarden.datasets.eval_report import plot_pr_curves, record_in_card, table, write_json
    from streetwarden.datasets.eval_truth import EvalError, load_split
    from streetwarden.datasets.evaluate import evaluate_model
    from streetwarden.datasets.yolo_check import dataset_sha256
    from streetwarden.models.store import require_model

    for extra in ("pycocotools", "matplotlib"):
        try:
            __import__(extra)
        except ModuleNotFoundError:
            raise UserError(f"evaluate needs {extra} from the [eval] extra, which is not installed: "
                            "pip install 'streetwarden[eval]'") from None
    if not 0.0 < args.conf < 1.0:
        raise UserError(f"--conf must be between 0 and 1 (got {args.conf})")
    settings = _settings_or_defaults(args.config)
    model = require_model(args.model, settings)
    baseline = require_model(args.baseline, settings) if args.baseline else None
    data = Path(args.data)
    if not data.exists():
        raise UserError(f"--data {data}: no such folder (give the YOLO dataset folder with data.yaml)")
    try:
        truth = load_split(data, args.split)
        results = [evaluate_model(m, truth, args.conf) for m in ([model, baseline] if baseline else [model])]
    except EvalError as err:
        raise UserError(str(err)) from None
    run = Path(args.out) if args.out else Path("runs") / f"eval-{model.stem}-{data.resolve().name}-{args.split}"
    run.mkdir(parents=True, exist_ok=True)
    dataset = {"path": str(data.resolve()), "split": args.split, "images": len(truth.files),
               "boxes": int(sum(len(b.class_id) for b in truth.boxes)), "names": truth.names,
               "sha256": dataset_sha256(truth.yaml_path, truth.files)}
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = {"evaluated_at": when, "dataset": dataset, "runtime": "streetwarden OnnxDetector (onnxruntime CPU)",
           "model": results[0].as_json(), "baseline": results[1].as_json() if baseline else None}
    write_json(run / "metrics.json", out)
    plot_pr_curves(results, run / "pr_curves.png")
    m = results[0].metrics
    card = record_in_card(model, {"evaluated_at": when, "dataset": dataset["path"], "split": args.split,
                                  "dataset_sha256": dataset["sha256"], "images": dataset["images"],
                                  "mAP50": round(m.map50, 4), "mAP50_95": round(m.map50_95, 4), "conf": m.conf,
                                  "per_class": {c.name: {"AP50": c.ap50, "precision": c.precision, "recall": c.recall}
                                                for c in m.per_class},
                                  "baseline": {"model": baseline.name, "mAP50": round(results[1].metrics.map50, 4)}
                                  if baseline else None, "metrics_json": str((run / "metrics.json").resolve())})
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print("\n".join(table(*results)))
    print(f"metrics: {run / 'metrics.json'}, PR curves: {run / 'pr_curves.png'}" + (f", card: {card}" if card else ""))
    return 0


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="ONNX model (a path, or a bare name looked up like `detect --model`)")
    p.add_argument("--data", required=True, help="YOLO dataset folder (with data.yaml)")
    p.add_argument("--baseline", help="the model it would replace, scored on the same data, side by side")
    p.add_argument("--split", default="val", help="which split of data.yaml to score (default val)")
    p.add_argument("--conf", type=float, default=0.25,
                   help="confidence for precision/recall and the confusion matrix (default 0.25, the runtime's)")
    p.add_argument("--out", help="run folder for metrics.json and pr_curves.png (default runs/eval-<model>-<data>-<split>)")
    p.add_argument("--config", help="YAML configuration file (for its model store); without it: ./data/models")
    p.add_argument("--json", action="store_true", help="print metrics.json's content instead of the table")


register("evaluate", "Score an ONNX model (and the one it would replace) on a YOLO dataset through the runtime's detector.",
         _evaluate, _evaluate_args)
