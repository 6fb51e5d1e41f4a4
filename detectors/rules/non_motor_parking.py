"""Non-motor vehicles (bicycles, e-bikes, tricycles) parked in a zone where they may not stand.

COCO knows `bicycle` and `motorcycle`; e-bikes and scooters come out as either, so both count, and
so do the classes a custom model may add. Whoever wants real motorcycles treated as motor vehicles
lists `labels` on the zones (see docs/detection.md).
"""

from streetwarden.detectors.rules.base import Rule

NON_MOTOR_LABELS = frozenset({"bicycle", "motorcycle", "tricycle", "e-bike", "ebike", "scooter"})


class NonMotorParking(Rule):
    violation = "non_motor_parking"
    default_labels = NON_MOTOR_LABELS
