"""Illegal dumping, garbage-class path: a garbage detection that persists in a no-dumping zone.

Class-agnostic left-behind objects reach this rule through the static-object engine. An overflowing
bin (`overflow`) is not dumping: it stands where bins belong, and bin_overflow watches it at bin_point
zones.
"""

from streetwarden.detectors.rules.base import Rule

GARBAGE_LABELS = frozenset({"garbage", "trash", "rubbish", "litter", "debris", "garbage_bag", "unknown"})


class IllegalDumping(Rule):
    violation = "illegal_dumping"
    default_labels = GARBAGE_LABELS
    lookalike_labels = frozenset({"garbage_bin", "overflow"})  # a bin standing there, a full one
    max_box_share = 0.25  # garbage-class boxes only; left-behind objects come through the static-object engine
