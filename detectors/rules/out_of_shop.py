"""Out-of-shop trading: goods, tables, racks set out in the strip in front of a registered shop."""

from streetwarden.detectors.rules.base import Rule

GOODS_LABELS = frozenset({"bench", "chair", "couch", "dining table", "potted plant", "suitcase", "bottle", "bowl",
                          "umbrella", "refrigerator", "tv", "microwave", "oven", "sink", "vase", "book", "clock",
                          "backpack", "handbag", "table", "rack", "goods", "stall", "unknown"})


class OutOfShop(Rule):
    violation = "out_of_shop"
    default_labels = GOODS_LABELS
