"""Motor vehicles standing on the sidewalk longer than the zone's dwell."""

from detectors.rules.base import Rule
from detectors.tracker import VEHICLE_LABELS


class SidewalkParking(Rule):
    violation = "sidewalk_parking"
    default_labels = VEHICLE_LABELS
