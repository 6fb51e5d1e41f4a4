"""A camera's extra models (``cameras[].extra_models``): their detections join the camera's own
model's on each analysed frame (models.detections.merge), and each candidate names the model whose
box raised it, so a garbage model run beside the COCO model is credited with the garbage it finds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streetwarden.detectors.events import CandidateEvent
from streetwarden.models.detections import Detections, box_iou, merge
from streetwarden.pipeline.model_switch import Choice

SAME_BOX = 0.95  # an event's box is a copy of its track's box of this frame: the detection it came from


@dataclass(frozen=True)
class Sources:
    """Where the boxes of one merged frame came from."""

    extras: tuple[Choice, ...]  # the camera's extra models
    labels: tuple[tuple[str, ...], ...]  # the label tables of the camera's model, then of each extra model
    origin: np.ndarray  # per box: 0 the camera's model, k the k-th extra model


def join(own: Detections, extras: list[Detections], extra_choices: tuple[Choice, ...],
         iou: float) -> tuple[Detections, Sources]:
    """One frame's detections of the camera's model and of its extra models (named by extra_choices), merged."""
    parts = [own, *extras]
    dets, origin = merge(parts, iou)
    return dets, Sources(extra_choices, tuple(p.labels for p in parts), origin)


def empty(labels: list[tuple[str, ...]]) -> Detections:
    """No detections, with the label table a merged frame of these models has."""
    return merge([Detections.empty(t) for t in labels])[0]


def raiser(event: CandidateEvent, dets: Detections, sources: Sources | None, own: Choice) -> Choice:
    """The model that raised the event: the one whose box of this frame it is; else (a left-behind
    object, a closing event) the camera's model when its label table has the label, else the first
    extra model that has it."""
    if sources is None or not sources.extras:
        return own
    choices = (own, *sources.extras)
    if len(dets):
        overlap = box_iou(np.asarray(event.box, np.float32)[None], dets.xyxy)[0]
        best = int(np.argmax(overlap))
        if overlap[best] >= SAME_BOX:
            return choices[int(sources.origin[best])]
    for choice, table in zip(choices, sources.labels):
        if event.label in table:
            return choice
    return own
