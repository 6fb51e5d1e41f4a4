"""Polling for something that happens in another thread or process (servers, workers, cameras)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(pred: Callable[[], T], timeout: float = 20.0, step: float = 0.1) -> T:
    """Call ``pred`` every ``step`` seconds until it returns something truthy or ``timeout``
    passes; returns its last value (so a test can both assert on it and use it)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()
