"""Illegal dumping, garbage-class path: a garbage detection that persists in a no-dumping zone.

Class-agnostic left-behind objects reach this rule through the static-object engine.
"""

from streetwarden.detectors.rules.base import Rule

GARBAGE_LABELS = frozenset({"garbage", "overflow", "trash", "rubbish", "litter", "debris", "garbage_bag", "unknown"})


class IllegalDumping(Rule):
    violation = "illegal_dumping"
    default_labels = GARBAGE_LABELS
