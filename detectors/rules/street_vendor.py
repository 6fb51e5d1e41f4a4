"""Roaming vendors: stall signs (umbrella, table, cart, goods) standing in a no-vending zone, attended by people.

A stall alone may be street furniture; a stall that people linger at (not merely walk past) for a
good share of the dwell is trading. A custom model's `vendor`/`stall` class counts on its own.
"""

from __future__ import annotations

import numpy as np

from streetwarden.detectors.dwell import Dwell
from streetwarden.detectors.rules.base import Observation, Rule, SceneView
from streetwarden.detectors.zones import Zone

STALL_LABELS = frozenset({"umbrella", "dining table", "chair", "bench", "suitcase", "bicycle", "motorcycle",
                          "cart", "tricycle", "stall", "vendor", "goods", "table", "rack"})
SELF_EVIDENT = frozenset({"vendor", "stall"})


class StreetVendor(Rule):
    violation = "street_vendor"
    default_labels = STALL_LABELS
    attended_share = 0.3

    def observe(self, zone: Zone, scene: SceneView) -> list[Observation]:
        stalls = super().observe(zone, scene)
        people = [t.box for t, d in scene.tracks if t.label == "person" and t.lingering(scene.ts)]
        for obs in stalls:
            near = [p for p in people if _near(obs.box, p)]
            obs.companion = obs.label in SELF_EVIDENT or bool(near)
            if near:
                all_boxes = np.stack([obs.box, *near])
                obs.box = np.concatenate([all_boxes[:, :2].min(axis=0), all_boxes[:, 2:].max(axis=0)]).astype(np.float32)
                obs.attributes["people"] = len(near)
        return stalls

    def qualifies(self, zone: Zone, dwell: Dwell, ts: float) -> bool:
        return super().qualifies(zone, dwell, ts) and dwell.companion_hits >= self.attended_share * max(dwell.hits, 1)


def _near(stall: np.ndarray, person: np.ndarray) -> bool:
    """A person whose box is within about one person-height of the stall."""
    reach = float(person[3] - person[1])
    dx = max(stall[0] - person[2], person[0] - stall[2], 0.0)
    dy = max(stall[1] - person[3], person[1] - stall[3], 0.0)
    return bool(np.hypot(dx, dy) <= reach)
