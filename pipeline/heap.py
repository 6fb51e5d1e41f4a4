"""The worker's garbage collector: objects made at start-up are set aside from its full passes.

Why: CPython's oldest-generation pass walks every tracked object of the process — models' sessions,
SQLAlchemy's mappers, settings, ~170,000 objects in a 64-camera worker — and holds the GIL while it
does (≈ 0.2 s each at 64 cameras on the reference machine): every camera's frame waits. What exists
when the worker starts lives as long as it does, so walking it again finds nothing to free.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect once, then move every surviving object to the permanent generation; how many moved."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def release_startup_objects() -> None:
    """Undo :func:`freeze_startup_objects` when the worker stops (a test process or `serve` builds
    another worker later; what the old one left behind must be collectable again)."""
    gc.unfreeze()
