"""A few threads that decode the key frames of all a worker's RTSP cameras.

Each camera's reader thread only receives (demux, the packet ring, the rate gate) and hands its due
key frames here; decode, BGR and the model's letterbox run on these threads. With a hundred cameras
on two cores, a hundred reader threads each decoding a 720p picture every two seconds pre-empt one
another and the model mid-decode, and each decode starts with its caches cold: in the worker the
readers cost ≈ 19 % more than the same steps timed alone, and the model ≈ 18 % more beside them
(docs/cameras.md). One thread decoding the key frames of many cameras in turn costs what one
decoder does alone (measured in the ninth session), so the decodes queue here instead.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from streetwarden.logs import event

log = logging.getLogger("streetwarden.camera")


def auto_decode_threads(cores: int | None = None) -> int:
    """Threads for ``decoding.threads: auto``: half the cores, at least one; the model pool and the
    readers' receiving use the rest."""
    cores = cores if cores is not None else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count() or 1)
    return max(1, cores // 2)


class DecodePool:
    """Runs decode jobs first in, first out on ``threads`` threads. A job that raises is logged and
    the thread goes on: one camera's bad picture never stops the others' decodes. Jobs still queued
    at :meth:`close` are run (each checks whether its camera's session is still open)."""

    def __init__(self, threads: int, name: str = "cam-decode") -> None:
        if threads < 1:
            raise ValueError("a decode pool needs at least one thread")
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        self._closed = False
        for t in self._threads:
            t.start()

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, job: Callable[[], None]) -> None:
        if self._closed:
            raise RuntimeError("the decode pool is closed")
        self._jobs.put(job)

    def pending(self) -> int:
        """Jobs waiting (approximate: a health hint, not a count to rely on)."""
        return self._jobs.qsize()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception as err:  # pragma: no cover - jobs catch their own errors; never lose the thread
                event(log, "decode_job_failed", logging.ERROR, error=f"{type(err).__name__}: {err}")

    def close(self, timeout: float | None = 30.0) -> None:
        """Finish the queued jobs and stop the threads."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout)
