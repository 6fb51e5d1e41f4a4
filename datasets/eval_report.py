"""What `streetwarden evaluate` leaves behind: the side-by-side table, metrics.json, the PR-curve
PNG in the run folder, and the evaluation in the model's card (when a card sits beside it)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml

from streetwarden.datasets.evaluate import ModelResult


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _delta(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a - b:+.3f}"


def table(model: ModelResult, baseline: ModelResult | None = None) -> list[str]:
    """One table: a row per figure, the model's column, the baseline's and the difference."""
    rows: list[tuple[str, float | None, float | None]] = [
        ("mAP50 (all dataset classes)", model.metrics.map50, baseline.metrics.map50 if baseline else None),
        ("mAP50-95 (all dataset classes)", model.metrics.map50_95, baseline.metrics.map50_95 if baseline else None),
        ("mAP50 (classes the model has)", model.metrics.map50_matched, baseline.metrics.map50_matched if baseline else None),
    ]
    for i, c in enumerate(model.metrics.per_class):
        if not c.gt:
            continue  # nothing of this class in the split (all 80 COCO names, say): metrics.json still lists it
        b = baseline.metrics.per_class[i] if baseline else None
        missing = [r.path.name for r, x in ((model, c), (baseline, b)) if r and x and not x.in_model]
        flag = f" (not in {', '.join(missing)})" if missing else ""
        rows += [(f"{c.name} AP50{flag}", c.ap50, b.ap50 if b else None),
                 (f"{c.name} precision", c.precision, b.precision if b else None),
                 (f"{c.name} recall", c.recall, b.recall if b else None)]
    width = max(len(r[0]) for r in rows) + 2
    col = max(len(model.path.name), len(baseline.path.name) if baseline else 0) + 2
    head = f"{'':<{width}}{model.path.name:>{col}}"
    if baseline:
        head += f"{baseline.path.name:>{col}}{'delta':>10}"
    lines = [head]
    for label, a, b in rows:
        line = f"{label:<{width}}{_num(a):>{col}}"
        if baseline:
            line += f"{_num(b):>{col}}{_delta(a, b):>10}"
        lines.append(line)
    conf = model.metrics.conf
    lines.append(f"precision / recall at confidence {conf:g}, IoU 0.5; mAP from pycocotools (max 100 detections per image)")
    for r in (model, baseline):
        if r and r.unmatched:
            lines.append(f"note: {r.path.name} has no class named {', '.join(r.unmatched)}: it cannot find them, "
                         "they count 0 in the mean over all dataset classes (not scored as wrong detections)")
    return lines


def plot_pr_curves(results: list[ModelResult], path: Path) -> None:
    """Precision over recall per class at IoU 0.5, one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streetwarden.datasets.eval_metrics import RECALL_POINTS

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 5), squeeze=False)
    for ax, r in zip(axes[0], results):
        for c in r.metrics.per_class:
            curve = r.metrics.pr_curves.get(c.name)
            if curve is not None:
                ax.plot(RECALL_POINTS, curve, label=f"{c.name} AP50 {_num(c.ap50)}"
                        + ("" if c.in_model else " (not in model)"))
        ax.set(title=f"{r.path.name}: mAP50 {r.metrics.map50:.3f}", xlabel="recall", ylabel="precision",
               xlim=(0, 1), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    _write_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def record_in_card(model: Path, summary: dict) -> Path | None:
    """Put ``summary`` under `evaluation` in the card beside the model (`name.yaml`); None when there is none."""
    card = model.with_suffix(".yaml")
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    data["evaluation"] = summary
    header = "".join(line for line in text.splitlines(keepends=True)[:1] if line.startswith("#"))
    _write_atomic(card, header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return card
