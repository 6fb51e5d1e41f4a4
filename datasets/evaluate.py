"""`streetwarden evaluate`: score an ONNX model on a YOLO split through the runtime's OnnxDetector.

Why the runtime and not the training framework: what matters is what the cameras will get, with
the deployment's letterbox, pixel-input prefix, decode and NMS. The detector runs with a low score
threshold (0.001, as for any mAP) and the runtime's NMS IoU; precision, recall and the confusion
matrix are read at ``conf`` (default 0.25, the runtime's score threshold).

Classes are matched by name (case, spaces and dashes ignored). A dataset class the model has no
name for is listed and flagged (it scores 0 in the mean over all dataset classes; the mean over the
matched classes is given beside it); detections of model classes the dataset does not name are
left out and counted.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streetwarden.datasets.eval_metrics import Boxes, Metrics, score
from streetwarden.datasets.eval_truth import EvalError, SplitTruth
from streetwarden.models.store import sha256_file
from streetwarden.progress import Progress

LOW_SCORE = 0.001
BATCH = 4


def class_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


@dataclass
class ModelResult:
    path: Path
    sha256: str
    family: str
    input_size: int
    labels: tuple[str, ...]
    metrics: Metrics
    unmatched: list[str]  # dataset classes the model has no name for
    model_only: int  # model classes the dataset does not name
    ignored_detections: int  # detections (>= conf) of model classes the dataset does not name
    ms_per_image: float

    def as_json(self) -> dict:
        return {"model": str(self.path), "sha256": self.sha256, "family": self.family, "input_size": self.input_size,
                "dataset_classes_not_in_model": self.unmatched,
                "model_classes_not_in_dataset": self.model_only,
                "ignored_detections": self.ignored_detections, "ms_per_image": round(self.ms_per_image, 1),
                **self.metrics.as_json()}


def _mapping(model_labels: tuple[str, ...], names: list[str]) -> np.ndarray:
    """Model class id → dataset class id (-1: the dataset does not name it)."""
    wanted = {class_key(n): i for i, n in enumerate(names)}
    return np.array([wanted.get(class_key(m), -1) for m in model_labels], np.int64)


def evaluate_model(model: Path, truth: SplitTruth, conf: float = 0.25, stream=None) -> ModelResult:  # type: ignore[no-untyped-def]
    """Run ``model`` over the split and score it (ModelError for a model the runtime cannot load)."""
    from streetwarden.models import OnnxDetector

    det = OnnxDetector(model, score_threshold=LOW_SCORE)
    to_dataset = _mapping(det.labels, truth.names)
    in_model = [bool((to_dataset == k).any()) for k in range(len(truth.names))]
    progress = Progress(f"evaluate {model.name}", len(truth.files), unit="images", stream=stream or sys.stderr)
    preds: list[Boxes] = []
    ignored = 0
    seconds = 0.0
    for start in range(0, len(truth.files), BATCH):
        frames = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in truth.files[start:start + BATCH]]
        began = time.monotonic()
        try:
            found = det(frames)
        except ValueError as err:  # decode of an output that is not what the family says
            raise EvalError(f"{model}: its output does not decode as {det.family.name}: {err}") from None
        seconds += time.monotonic() - began
        for d in found:
            cls = to_dataset[d.class_id] if len(d.class_id) else d.class_id
            keep = cls >= 0
            ignored += int((~keep & (d.score >= conf)).sum())
            preds.append(Boxes(d.xyxy[keep], cls[keep], d.score[keep]))
        progress.add(len(frames))
    progress.print()
    metrics = score(truth.sizes, truth.boxes, preds, truth.names, in_model, conf)
    return ModelResult(model, sha256_file(model), det.family.name, det.input_size, det.labels, metrics,
                       [n for n, hit in zip(truth.names, in_model) if not hit], int((to_dataset < 0).sum()), ignored,
                       1000 * seconds / max(len(truth.files), 1))
