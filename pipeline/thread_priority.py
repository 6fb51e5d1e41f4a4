"""Evidence work yields the cores to analysis.

Encoding a raise's JPEGs, cutting its clip and grabbing the main stream can wait a second; the
next key frame of fifty cameras cannot. When many cameras raise together on a nearly full machine,
that evidence work at the same priority as the readers and the model took the cores from them
and the analysis lag of every camera jumped. The threads that do it lower their own scheduling
priority (Linux nice is per thread): they still get the cores' idle time and a share under load
(nice 10 weighs about a tenth of nice 0), so nothing waits for ever and nothing is dropped.
"""

from __future__ import annotations

import logging
import os
import threading

from streetwarden.logs import event

log = logging.getLogger("streetwarden.worker")

EVIDENCE_NICE = 10  # added to the process's niceness for evidence threads


def lower_this_thread(by: int = EVIDENCE_NICE) -> bool:
    """Make the calling thread `by` steps nicer; False where the system has no per-thread
    priority (logged when the call itself fails). Raising niceness needs no privilege on Linux."""
    if by <= 0 or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + by))
        return True
    except OSError as err:
        event(log, "thread_priority_unchanged", logging.INFO, thread=threading.current_thread().name,
              error=str(err))
        return False
