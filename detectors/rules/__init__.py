"""One module per violation; RULES maps a zone kind to the rule that watches it."""

from streetwarden.detectors.rules.base import Observation, Rule, SceneView
from streetwarden.detectors.rules.bin_overflow import BinOverflow
from streetwarden.detectors.rules.illegal_dumping import IllegalDumping
from streetwarden.detectors.rules.non_motor_parking import NonMotorParking
from streetwarden.detectors.rules.out_of_shop import OutOfShop
from streetwarden.detectors.rules.sidewalk_parking import SidewalkParking
from streetwarden.detectors.rules.street_vendor import StreetVendor
from streetwarden.vocabulary import ZoneKind

RULES: dict[ZoneKind, Rule] = {
    ZoneKind.sidewalk: SidewalkParking(),
    ZoneKind.no_vending: StreetVendor(),
    ZoneKind.shopfront: OutOfShop(),
    ZoneKind.no_dumping: IllegalDumping(),
    ZoneKind.non_motor: NonMotorParking(),
    ZoneKind.bin_point: BinOverflow(),
}

__all__ = ["RULES", "Observation", "Rule", "SceneView"]
