"""The worker inside another process (``streetwarden serve``): run it in a thread beside the web
server, expose it for health and metrics, and stop it cleanly."""

from __future__ import annotations

import logging
import threading

from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.config import Settings
from streetwarden.logs import event
from streetwarden.redact import mask_all

log = logging.getLogger("streetwarden.worker")


class BackgroundWorker:
    """``start()`` builds the worker (loads models, syncs cameras) and runs it in a daemon thread;
    ``worker`` is what /metrics and /api/v1/cameras/health read."""

    def __init__(self, settings: Settings, db: Database, **worker_kwargs: object) -> None:
        self.settings, self.db, self.kwargs = settings, db, worker_kwargs
        self.worker: Worker | None = None
        self.thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> "BackgroundWorker":
        self.worker = Worker(self.settings, self.db, **self.kwargs)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self._run, name="worker", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        assert self.worker is not None
        try:
            self.worker.run()
        except Exception as err:  # pragma: no cover - run() survives errors in live mode
            self.error = mask_all(f"{type(err).__name__}: {err}")
            event(log, "worker_died", logging.ERROR, error=self.error)

    def stop(self, timeout: float = 15.0) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.thread is not None:
            self.thread.join(timeout)

    def get_worker(self) -> Worker | None:
        return self.worker
