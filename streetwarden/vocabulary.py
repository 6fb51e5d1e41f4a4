"""The violation vocabulary: zone kinds, the violation each kind is watched for, and their defaults.

One home for these names, so the rules, the store, the API and the UI cannot drift apart. The
classification table follows the digital-city-management standards (GB/T 30428.2, CJJ/T 106): a case
system files an event under a category (大类, e.g. 街面秩序) and a subclass (小类, e.g. 机动车乱停放).
The names are the standards'; the numeric codes are the standards' sequence numbers as most city
systems use them, but code tables differ between cities, so a deployment overrides them in
`violation_codes` (see docs/integration.md).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class ZoneKind(str, Enum):
    """What a zone is for; each kind is watched by one violation rule."""

    sidewalk = "sidewalk"
    non_motor = "non_motor"
    no_vending = "no_vending"
    shopfront = "shopfront"
    no_dumping = "no_dumping"
    bin_point = "bin_point"


VIOLATION_BY_ZONE_KIND: dict[ZoneKind, str] = {
    ZoneKind.sidewalk: "sidewalk_parking",
    ZoneKind.non_motor: "non_motor_parking",
    ZoneKind.no_vending: "street_vendor",
    ZoneKind.shopfront: "out_of_shop",
    ZoneKind.no_dumping: "illegal_dumping",
    ZoneKind.bin_point: "bin_overflow",
}

VIOLATIONS: tuple[str, ...] = tuple(VIOLATION_BY_ZONE_KIND.values())  # in this order the filters list them

DEFAULT_DWELL: dict[ZoneKind, float] = {
    ZoneKind.sidewalk: 120.0,
    ZoneKind.non_motor: 300.0,
    ZoneKind.no_vending: 300.0,
    ZoneKind.shopfront: 600.0,
    ZoneKind.no_dumping: 60.0,
    ZoneKind.bin_point: 600.0,  # an overflowing bin stays for hours; 10 min keeps a bin being filled or emptied out
}

# Seconds an offender has to comply with a warning; a bicycle's owner is rarely beside it, so its
# notice (a tag on the bike, a message to the share-bike operator) gets longer than a car's; an
# overflowing bin waits for the sanitation contractor's next round.
DEFAULT_GRACE: dict[str, float] = {
    "sidewalk_parking": 600.0,
    "non_motor_parking": 1800.0,
    "street_vendor": 1800.0,
    "out_of_shop": 3600.0,
    "illegal_dumping": 86400.0,
    "bin_overflow": 7200.0,
}


class ViolationCode(NamedTuple):
    """How a case system classifies a violation: category (大类) and subclass (小类), code and name."""

    category: str
    category_code: str
    code: str
    name: str


STANDARD = "GB/T 30428.2-2013 / CJJ/T 106-2010"
_STREET_ORDER = ("街面秩序", "05")
_CITY_LOOKS = ("市容环境", "01")

DEFAULT_VIOLATION_CODES: dict[str, ViolationCode] = {
    "sidewalk_parking": ViolationCode(*_STREET_ORDER, "0505", "机动车乱停放"),
    "non_motor_parking": ViolationCode(*_STREET_ORDER, "0506", "非机动车乱停放"),
    "street_vendor": ViolationCode(*_STREET_ORDER, "0501", "无照经营游商"),
    "out_of_shop": ViolationCode(*_STREET_ORDER, "0504", "店外经营"),
    "illegal_dumping": ViolationCode(*_CITY_LOOKS, "0102", "暴露垃圾"),
    # not a subclass of the standards' table (they file loose rubbish as 暴露垃圾): a city extension,
    # code unchecked; deployments set their own in `violation_codes`
    "bin_overflow": ViolationCode(*_CITY_LOOKS, "0120", "垃圾满溢"),
}
