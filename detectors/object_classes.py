"""The object classes a reviewer may name when correcting a candidate: the ones the detectors use.

One list, built from what the stages already know, so a corrected label is always a class some
rule watches or some model emits: the COCO classes of the shipped models, every rule's default
labels (custom-model classes such as tricycle or garbage) and the labels a deployment's zones name.
"""

from __future__ import annotations

from functools import lru_cache

from streetwarden.config import Settings
from streetwarden.detectors.rules import RULES
from streetwarden.models.detections import COCO_LABELS
from streetwarden.vocabulary import VIOLATION_BY_ZONE_KIND

MAX_CHOICES = 9  # the queue picks a class with the number keys 1-9
_RULE_LABELS = frozenset().union(*(rule.default_labels | rule.lookalike_labels for rule in RULES.values()))
_KIND_OF = {violation: kind for kind, violation in VIOLATION_BY_ZONE_KIND.items()}


def object_classes(settings: Settings | None = None) -> frozenset[str]:
    """Every class name a correction may carry (with the zones' own `labels` of this deployment)."""
    zones = {label for cam in (settings.cameras if settings else []) for z in cam.zones for label in (z.labels or [])}
    return frozenset(COCO_LABELS) | _RULE_LABELS | zones


def class_choices(violation: str, label: str) -> list[str]:
    """The short list the queue offers for a candidate: its own label, then what its rule watches,
    then the look-alikes it never raises on (the classes a false detection most often really is)."""
    return list(_choices(violation, label))


@lru_cache(maxsize=4096)  # on the queue's hot path, per candidate: a few (violation, label) pairs recur
def _choices(violation: str, label: str) -> tuple[str, ...]:
    kind = _KIND_OF.get(violation)
    rule = RULES.get(kind) if kind is not None else None
    watched = sorted(rule.default_labels - {label}) + sorted(rule.lookalike_labels - {label}) if rule else []
    own = [label] if label in object_classes() else []
    return tuple((own + watched)[:MAX_CHOICES])
