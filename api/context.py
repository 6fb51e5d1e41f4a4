"""What every request handler needs: the settings, the database and the process's secret."""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from streetwarden.api.auth.addresses import client_address
from streetwarden.store.db import Database
from streetwarden.config import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    secret: str
    worker: Any | None = None  # pipeline.worker.Worker when `serve` runs the cameras in this process
    started_at: float = field(default_factory=time.time)
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def writing(self) -> AbstractContextManager[Any]:
        """Serialise the hot write transactions (claim, decide) on SQLite.

        SQLite has one writer at a time and its busy handler retries with growing sleeps (1, 2, 5,
        10, … ms), which turns contention between request threads or worker processes into long
        tails; queueing on a lock (a thread lock plus an flock shared by the worker processes)
        hands the write over at once. PostgreSQL needs no such thing."""
        if not self.db.url.startswith("sqlite") or ":memory:" in self.db.url:
            return nullcontext()
        return _SqliteWriteLock(self._write_lock, self.db.url[len("sqlite:///"):] + ".write-lock")


class _SqliteWriteLock:
    def __init__(self, lock: threading.Lock, path: str) -> None:
        self.lock = lock
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            import fcntl

            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except ImportError:  # no flock (not POSIX): the thread lock alone
            self.fd = None
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self.fd is not None:
                os.close(self.fd)  # closing releases the flock
        finally:
            self.fd = None
            self.lock.release()


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def client_ip(request: Request) -> str | None:
    """The caller's address; X-Forwarded-For only from `server.trusted_proxies` (api/auth/addresses.py)."""
    return client_address(request, get_ctx(request).settings.server.trusted_proxies)
