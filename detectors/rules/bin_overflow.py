"""Overflowing garbage bins (垃圾满溢) at a bin station: a trained `overflow` detection that persists.

The garbage model tells an overflowing bin (`overflow`) from one that is merely there (`garbage_bin`);
only the first is a violation, and only where a bin_point zone marks the station. Rubbish dumped on
the ground is `garbage`, illegal dumping's class, not this rule's.
"""

from streetwarden.detectors.rules.base import Rule

OVERFLOW_LABELS = frozenset({"overflow"})


class BinOverflow(Rule):
    violation = "bin_overflow"
    default_labels = OVERFLOW_LABELS
    lookalike_labels = frozenset({"garbage_bin"})
    max_box_share = 0.25
