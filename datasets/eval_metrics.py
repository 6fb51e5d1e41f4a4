"""Detection metrics of one model on one dataset split, computed by pycocotools.

Why pycocotools: mAP is easy to get subtly wrong (interpolation, crowd handling, ties); the COCO
reference implementation is what published figures use. This module only converts boxes into its
format and reads its arrays:

- mAP50 / mAP50-95: COCOeval ``stats`` (area all, at most 100 detections per image), averaged
  over the dataset classes that have ground truth; a class the model cannot name scores 0 there
  and is flagged, and the mean over the classes the model has is reported beside it.
- per-class precision / recall at a stated confidence, IoU 0.5: from COCOeval's own per-image
  matching (``evalImgs``), counting the detections scored at or above the confidence.
- PR curves: COCOeval's interpolated precision at 101 recall points, IoU 0.5.
- the confusion matrix (class-agnostic matching, which pycocotools does not do): each image's
  detections at or above the confidence are paired with ground truth boxes greedily by IoU >= 0.5,
  each box at most once; rows are the true class, columns the predicted one, the last row/column
  is background (a missed box / a detection of nothing).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np

from streetwarden.models.detections import box_iou

MATCH_IOU = 0.5
MAX_DETS = 100


@dataclass
class Boxes:
    """One image's boxes in source pixels, classes as dataset class ids."""

    xyxy: np.ndarray  # float [N, 4]
    class_id: np.ndarray  # int [N]
    score: np.ndarray | None = None  # [N] for predictions, None for ground truth

    @classmethod
    def empty(cls, scored: bool) -> Boxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32) if scored else None)


@dataclass
class ClassMetrics:
    name: str
    in_model: bool
    gt: int
    ap50: float | None  # None: no ground truth of this class in the split
    ap50_95: float | None
    precision: float | None
    recall: float | None
    tp: int
    fp: int


@dataclass
class Metrics:
    map50: float
    map50_95: float
    map50_matched: float | None  # over the classes the model has (None: it has none of them)
    map50_95_matched: float | None
    per_class: list[ClassMetrics]
    confusion: list[list[int]]  # [nc + 1][nc + 1], rows true, columns predicted, last = background
    pr_curves: dict[str, list[float]] = field(default_factory=dict)  # class name -> precision at RECALL_POINTS
    conf: float = 0.25

    def as_json(self) -> dict:
        return {"mAP50": self.map50, "mAP50_95": self.map50_95, "mAP50_matched": self.map50_matched,
                "mAP50_95_matched": self.map50_95_matched, "conf": self.conf, "match_iou": MATCH_IOU,
                "max_detections": MAX_DETS,
                "per_class": [vars(c) for c in self.per_class],
                "confusion": {"rows": "true class", "columns": "predicted class",
                              "labels": [c.name for c in self.per_class] + ["background"], "matrix": self.confusion},
                "pr_curves": {"recall": RECALL_POINTS.tolist(), "precision": self.pr_curves}}


RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def _coco(images: list[tuple[int, int]], boxes: list[Boxes], nc: int, scored: bool):  # type: ignore[no-untyped-def]
    from pycocotools.coco import COCO

    anns = []
    for img_id, b in enumerate(boxes):
        for j in range(len(b.class_id)):
            x1, y1, x2, y2 = (float(v) for v in b.xyxy[j])
            ann = {"id": len(anns) + 1, "image_id": img_id, "category_id": int(b.class_id[j]),
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
            if scored:
                ann["score"] = float(b.score[j])  # type: ignore[index]
            anns.append(ann)
    coco = COCO()
    coco.dataset = {"images": [{"id": i, "width": w, "height": h} for i, (w, h) in enumerate(images)],
                    "categories": [{"id": k, "name": str(k)} for k in range(nc)], "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _confusion(truth: list[Boxes], preds: list[Boxes], nc: int, conf: float) -> np.ndarray:
    m = np.zeros((nc + 1, nc + 1), np.int64)
    for gt, dt in zip(truth, preds):
        keep = dt.score >= conf  # type: ignore[operator]
        d_box, d_cls = dt.xyxy[keep], dt.class_id[keep]
        iou = box_iou(gt.xyxy.astype(np.float32), d_box.astype(np.float32))
        gi, di = np.nonzero(iou >= MATCH_IOU)
        order = np.argsort(-iou[gi, di], kind="stable")
        used_g, used_d = set(), set()
        for g, d in zip(gi[order], di[order]):
            if g in used_g or d in used_d:
                continue
            used_g.add(g)
            used_d.add(d)
            m[gt.class_id[g], d_cls[d]] += 1
        for g in set(range(len(gt.class_id))) - used_g:
            m[gt.class_id[g], nc] += 1
        for d in set(range(len(d_cls))) - used_d:
            m[nc, d_cls[d]] += 1
    return m


def _counts_at(ev, k: int, conf: float) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(tp, fp, ground truth) of class k at IoU 0.5, area all, max 100 detections, score >= conf."""
    tp = fp = npig = 0
    for e in ev.evalImgs:
        if e is None or e["category_id"] != k or e["aRng"] != ev.params.areaRng[0] or e["maxDet"] != MAX_DETS:
            continue
        scores = np.asarray(e["dtScores"][:MAX_DETS])
        matched = np.asarray(e["dtMatches"][0, :MAX_DETS]) > 0
        ignored = np.asarray(e["dtIgnore"][0, :MAX_DETS]).astype(bool)
        sure = (scores >= conf) & ~ignored
        tp += int((sure & matched).sum())
        fp += int((sure & ~matched).sum())
        npig += int((np.asarray(e["gtIgnore"]) == 0).sum())
    return tp, fp, npig


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def score(images: list[tuple[int, int]], truth: list[Boxes], preds: list[Boxes], names: list[str],
          in_model: list[bool], conf: float = 0.25) -> Metrics:
    """Metrics of ``preds`` against ``truth`` (one Boxes per image of size (width, height))."""
    from pycocotools.cocoeval import COCOeval

    nc = len(names)
    gt = _coco(images, truth, nc, scored=False)
    dt = _coco(images, preds, nc, scored=True)
    ev = COCOeval(gt, dt, iouType="bbox")
    ev.params.maxDets = [1, 10, MAX_DETS]
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, 2]  # [iou thresholds, recall points, classes]
    per_class, curves = [], {}
    for k, name in enumerate(names):
        p = precision[:, :, k]
        tp, fp, n_gt = _counts_at(ev, k, conf)
        has_gt = bool((p > -1).any())
        ap50 = float(p[0][p[0] > -1].mean()) if has_gt else None
        ap = float(np.mean([row[row > -1].mean() for row in p])) if has_gt else None
        per_class.append(ClassMetrics(name, in_model[k], n_gt, ap50, ap,
                                      tp / (tp + fp) if tp + fp else None,
                                      tp / n_gt if n_gt else None, tp, fp))
        if has_gt:
            curves[name] = [round(float(v), 4) for v in p[0].clip(0)]
    all50 = _mean([c.ap50 for c in per_class])
    all_ = _mean([c.ap50_95 for c in per_class])
    return Metrics(map50=all50 or 0.0, map50_95=all_ or 0.0,
                   map50_matched=_mean([c.ap50 for c in per_class if c.in_model]),
                   map50_95_matched=_mean([c.ap50_95 for c in per_class if c.in_model]),
                   per_class=per_class, confusion=_confusion(truth, preds, nc, conf).tolist(), pr_curves=curves, conf=conf)
