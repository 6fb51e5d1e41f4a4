"""Candidate writes off the analysis loop: one thread per live worker, jobs in the order given.

Storing a raise costs a database transaction and three or four 720p JPEG encodes (frame, crop,
clean frame, first sight); when many cameras raise together (a market opening, all cameras of a
bench seeing their van) that held the loop thread, and with it every camera's next batch, for
seconds. The loop now hands each batch's events here and goes on; one thread keeps them in order,
so a candidate's open, updates and close are written as they were raised. A failed write is kept
and retried (the worker's own buffer, ``Worker.store``), never dropped, and ``close`` writes
everything still waiting before the worker stops.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from streetwarden.logs import event
from streetwarden.redact import mask_all
from streetwarden.pipeline.thread_priority import lower_this_thread

log = logging.getLogger("streetwarden.worker")

RETRY_SECONDS = 1.0


class StoreThread:
    """Runs store jobs (``fn(items)``) one at a time, in submission order, on one thread."""

    def __init__(self, retry: Callable[[], bool], name: str = "sw-store") -> None:
        """`retry()` writes what an earlier failed job left buffered; it returns True when nothing is left."""
        self._jobs: deque[tuple[Callable[[list], None], list]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._retry = retry
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[list], None], items: list) -> None:
        with self._cond:
            self._jobs.append((fn, items))
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._jobs) + int(self._busy)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every job given so far has run; False if `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Run what is waiting (one last retry of buffered events included), then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            event(log, "store_close_timeout", logging.ERROR, waiting=self.waiting, seconds=timeout)

    def _run(self) -> None:
        lower_this_thread()  # evidence yields the cores to analysis (pipeline/thread_priority.py)
        backlog = False  # a failed write left events buffered: retry them once a second
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._jobs or self._closing, RETRY_SECONDS if backlog else None)
                if not self._jobs and self._closing:
                    break
                job = self._jobs.popleft() if self._jobs else None
                self._busy = True
            try:
                if job is not None:
                    job[0](job[1])
                    backlog = False
                elif backlog:
                    backlog = not self._retry()
            except Exception as err:  # the worker's store buffers the events; retried after a pause
                backlog = True
                event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                      where="store")
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, RETRY_SECONDS)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if backlog:  # closing: one last try for what the database refused before
            try:
                self._retry()
            except Exception as err:
                event(log, "worker_error", logging.ERROR, error=mask_all(f"{type(err).__name__}: {err}"),
                      where="store", lost_events="see pending_events")
