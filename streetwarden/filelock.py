"""One process at a time on this machine: an exclusive `flock` on a lock file beside the guarded thing.

Used where two processes would write the same files (a model store's `.part`, an SQLite schema
upgrade); the lock goes away with the process, so a killed holder never leaves it stuck.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if missing) for the `with` block."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
