"""Motor vehicles standing on the sidewalk longer than the zone's dwell."""

from streetwarden.detectors.rules.base import Rule
from streetwarden.detectors.tracker import VEHICLE_LABELS


class SidewalkParking(Rule):
    violation = "sidewalk_parking"
    default_labels = VEHICLE_LABELS
