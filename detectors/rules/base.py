"""What a violation rule is: which objects in a zone of its kind count, and when they qualify."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streetwarden.detectors.dwell import Dwell
from streetwarden.detectors.tracker import Track
from streetwarden.detectors.zones import Zone
from streetwarden.models.detections import Detections


@dataclass
class Observation:
    """An object (or cluster) in a zone that this rule watches, in one frame."""

    key: int
    box: np.ndarray
    label: str
    score: float
    companion: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    started: float | None = None  # when the object appeared, if known (left-behind objects); dwell counts from it


@dataclass
class SceneView:
    """One frame of one camera as the rules see it."""

    ts: float
    image: np.ndarray
    dets: Detections
    tracks: list[tuple[Track, int]]  # tracks observed in this frame, with their detection index

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class Rule:
    """A violation rule. Subclasses choose the objects; the engine times their dwell."""

    violation: str = ""
    default_labels: frozenset[str] = frozenset()
    # classes a reviewer may correct a false detection to: look-alikes this rule never raises on
    # (a bin that is not full for bin_overflow), so the exported label teaches the model the difference
    lookalike_labels: frozenset[str] = frozenset()
    # the largest share of the frame one object of this rule may cover; a bigger box is the model
    # misreading the whole street (a garbage model trained on close-up photos calls a street scene an
    # overflowing bin), never a bin or a pile seen from a pole camera
    max_box_share: float = 1.0

    def labels(self, zone: Zone) -> frozenset[str]:
        return frozenset(zone.config.labels) if zone.config.labels else self.default_labels

    def observe(self, zone: Zone, scene: SceneView) -> list[Observation]:
        """Objects of the watched labels whose anchor lies in the zone."""
        labels = self.labels(zone)
        picked = [(t, d) for t, d in scene.tracks if t.label in labels and scene.dets.score[d] >= zone.config.min_score]
        if picked and self.max_box_share < 1.0:
            most = self.max_box_share * scene.width * scene.height
            picked = [(t, d) for t, d in picked if (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]) <= most]
        if not picked:
            return []
        boxes = np.stack([t.box for t, _ in picked])
        anchors = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1)
        inside = zone.contains(anchors, scene.width, scene.height)
        return [Observation(t.id, t.box, t.label, float(scene.dets.score[d])) for (t, d), ok in zip(picked, inside) if ok]

    def qualifies(self, zone: Zone, dwell: Dwell, ts: float) -> bool:
        return dwell.elapsed(ts) >= zone.config.dwell
