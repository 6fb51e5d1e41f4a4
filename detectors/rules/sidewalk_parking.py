"""Motor vehicles standing on the sidewalk longer than the zone's dwell.

Motorcycles are left to the non-motor rule by default: on a Chinese pavement COCO's `motorcycle` is
nearly always an e-bike (a non-motor vehicle by law, GB 17761). A zone's `labels` brings them back.
"""

from streetwarden.detectors.rules.base import Rule

MOTOR_VEHICLE_LABELS = frozenset({"car", "truck", "bus"})


class SidewalkParking(Rule):
    violation = "sidewalk_parking"
    default_labels = MOTOR_VEHICLE_LABELS
