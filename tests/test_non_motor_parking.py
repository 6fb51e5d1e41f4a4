"""Non-motor vehicles parked where they may not stand (non_motor zones), on real footage: a real
bicycle and a real e-scooter cut from street photos of garbage-cn, pasted into vtest.avi frames.

A bicycle held still for the default dwell (300 s) raises `non_motor_parking` once and nothing
else; the same bicycle wheeled up and down the pavement raises nothing; an e-scooter (COCO says
`motorcycle`) counts as non-motor by default and as a motor vehicle only where a zone says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from streetwarden.config import ZoneConfig
from streetwarden.detectors.rules import RULES
from streetwarden.detectors.zones import Zone
from streetwarden.vocabulary import DEFAULT_DWELL, ZoneKind
from tests.scenes import iou, opened, paste, real_crop, run_engine, vtest_frames, zone

PAVEMENT = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]  # lower half of vtest's plaza
STEP = 2.0  # seconds between analysed frames
SPOT = (560, 340)


def long_scene(seconds: float) -> list[tuple[float, np.ndarray]]:
    """Real vtest frames at 0.5 fps, repeated to cover `seconds` (vtest itself is 79 s long)."""
    real = vtest_frames(1 / STEP)
    return [(i * STEP, real[i % len(real)][1]) for i in range(int(seconds / STEP) + 1)]


def with_crop(frames, crop, place, start: float) -> tuple[list[tuple[float, np.ndarray]], list[np.ndarray]]:
    out, boxes = [], []
    for ts, img in frames:
        if ts >= start:
            img, box = paste(img, crop, *place(ts))
            boxes.append(box)
        out.append((ts, img))
    return out, boxes


@pytest.fixture(scope="module")
def bicycle() -> np.ndarray:
    return real_crop("bicycle", height=150)


def test_default_dwell_and_labels():
    cfg = ZoneConfig(id="z", kind="non_motor", polygon=PAVEMENT)
    assert cfg.dwell == DEFAULT_DWELL[ZoneKind.non_motor] == 300.0 and cfg.violation == "non_motor_parking"
    rule = RULES[ZoneKind.non_motor]
    assert {"bicycle", "motorcycle", "tricycle"} <= rule.labels(Zone(cfg))
    assert "motorcycle" not in RULES[ZoneKind.sidewalk].labels(Zone(ZoneConfig(id="s", kind="sidewalk", polygon=PAVEMENT)))


def test_parked_bicycle_raises_non_motor_parking_once(yolox, bicycle):
    frames, boxes = with_crop(long_scene(380), bicycle, lambda ts: SPOT, start=20.0)
    zones = [ZoneConfig(id="bikes", kind="non_motor", polygon=PAVEMENT),  # default dwell: 300 s
             zone("walk", "sidewalk", PAVEMENT, 30)]  # the same pavement watched for cars
    events = run_engine(yolox, frames, zones)
    raised = opened(events)
    assert [(e.violation, e.zone_id) for e in raised] == [("non_motor_parking", "bikes")], raised
    bike = raised[0]
    assert bike.label == "bicycle" and iou(bike.box, boxes[0]) >= 0.6
    assert 20.0 <= bike.first_seen <= 30.0 and bike.last_seen - bike.first_seen >= 300.0
    assert not [e for e in events if e.violation != "non_motor_parking"]


def test_bicycle_wheeled_along_the_pavement_raises_nothing(yolox, bicycle):
    def walking(ts: float) -> tuple[int, int]:  # 20 px/s up and down the pavement, never still
        span = 768 - bicycle.shape[1] - 20
        d = int(20 * ts) % (2 * span)
        return (10 + (d if d < span else 2 * span - d), SPOT[1])

    frames, boxes = with_crop(long_scene(380), bicycle, walking, start=0.0)
    assert len({int(b[0]) for b in boxes}) > 100  # it really moves
    events = run_engine(yolox, frames, [ZoneConfig(id="bikes", kind="non_motor", polygon=PAVEMENT)])
    assert opened(events) == []


def test_e_scooter_is_non_motor_unless_the_zone_lists_motorcycles(yolox):
    scooter = real_crop("e-scooter", height=150)
    frames, boxes = with_crop(long_scene(60), scooter, lambda ts: SPOT, start=0.0)
    default = opened(run_engine(yolox, frames, [zone("bikes", "non_motor", PAVEMENT, 30),
                                                zone("walk", "sidewalk", PAVEMENT, 30)]))
    assert [(e.violation, e.label) for e in default] == [("non_motor_parking", "motorcycle")], default
    # where real motorcycles dominate, the deployment counts them as motor vehicles
    motor = [zone("bikes", "non_motor", PAVEMENT, 30, labels=["bicycle", "tricycle"]),
             zone("walk", "sidewalk", PAVEMENT, 30, labels=["car", "truck", "bus", "motorcycle"])]
    raised = opened(run_engine(yolox, frames, motor))
    assert [(e.violation, e.zone_id) for e in raised] == [("sidewalk_parking", "walk")] and iou(raised[0].box, boxes[0]) >= 0.6
