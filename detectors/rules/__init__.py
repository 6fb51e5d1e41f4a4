"""One module per violation; RULES maps a zone kind to the rule that watches it."""

from detectors.rules.base import Observation, Rule, SceneView
from detectors.rules.illegal_dumping import IllegalDumping
from detectors.rules.out_of_shop import OutOfShop
from detectors.rules.sidewalk_parking import SidewalkParking
from detectors.rules.street_vendor import StreetVendor
from streetwarden.config import ZoneKind

RULES: dict[ZoneKind, Rule] = {
    ZoneKind.sidewalk: SidewalkParking(),
    ZoneKind.no_vending: StreetVendor(),
    ZoneKind.shopfront: OutOfShop(),
    ZoneKind.no_dumping: IllegalDumping(),
}

__all__ = ["RULES", "Observation", "Rule", "SceneView"]
