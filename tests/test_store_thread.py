"""Candidate writes run on their own thread in live workers: in order, retried, never lost, and a
database that holds a write back does not hold back the analysis of the cameras."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import select

from streetwarden.pipeline.store_thread import StoreThread
from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.config import parse_settings
from tests.rtsp_server import RtspServer
from tests.waiting import wait_for

VAN_ZONE = {"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 10,
            "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}


def test_jobs_run_in_order_and_a_failed_write_is_retried_until_it_goes_through() -> None:
    written: list[int] = []
    buffered: list[int] = []
    refusals = {"left": 3}

    def write(items: list) -> None:  # like Worker.store: keeps what it could not write, then raises
        todo = buffered + items
        buffered.clear()
        if refusals["left"] > 0:
            refusals["left"] -= 1
            buffered.extend(todo)
            raise RuntimeError("database is locked")
        written.extend(todo)

    def retry() -> bool:
        if buffered:
            write([])
        return not buffered

    store = StoreThread(retry)
    for i in range(5):
        store.submit(write, [i])
    store.close()
    # three refusals, then everything once, in the order given
    assert written == [0, 1, 2, 3, 4]
    assert buffered == [] and refusals["left"] == 0


def test_close_writes_what_is_still_waiting() -> None:
    written: list[int] = []
    gate = threading.Event()

    def slow(items: list) -> None:
        gate.wait(10)
        written.extend(items)

    store = StoreThread(lambda: True)
    store.submit(slow, [1])
    store.submit(written.extend, [2, 3])
    assert not store.flush(0.2)  # the first job is still running
    gate.set()
    store.close()
    assert written == [1, 2, 3]


def test_a_held_database_write_does_not_hold_the_analysis(tmp_path: Path, rtsp_media) -> None:
    """Another writer holds SQLite's write lock while the parked van is raised: the camera goes on
    being analysed, and once the lock is let go the candidate is written, exactly once, with its
    evidence."""
    server = RtspServer({"/main": rtsp_media["main"]}).start()
    data = {"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "cameras": [{"id": "cam", "source": server.url("/main"), "analysis_fps": 1, "timeout_seconds": 5,
                         "zones": [VAN_ZONE]}]}
    settings = parse_settings(data, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db)
    thread = threading.Thread(target=worker.run, name="worker-loop", daemon=True)
    holder = sqlite3.connect(tmp_path / "sw.db", timeout=30, isolation_level=None)
    try:
        thread.start()
        runner = worker.runners[0]
        assert wait_for(lambda: runner.health.frames_processed >= 2, 60), "no frames analysed"
        holder.execute("BEGIN IMMEDIATE")  # the write lock: readers go on, writers wait
        try:
            # the van's dwell (10 s) passes while the lock is held: its raise waits on the store thread
            assert wait_for(lambda: worker._store_thread is not None and worker._store_thread.waiting > 0, 40), \
                "the van was never raised"
            stuck_at = runner.health.frames_processed
            assert wait_for(lambda: runner.health.frames_processed >= stuck_at + 3, 20), \
                "analysis stopped while a write was held"
            assert worker._store_thread.waiting > 0  # ... and the write is still held all that time
        finally:
            holder.execute("ROLLBACK")
        assert wait_for(lambda: worker.stats["created"] >= 1, 40), "the held write never went through"
        time.sleep(2)  # later frames update the same candidate
    finally:
        worker.stop()
        thread.join(60)
        holder.close()
        server.kill()
    assert not thread.is_alive()
    with db.session() as s:
        rows = s.scalars(select(Candidate)).all()
        assert len(rows) == 1 and rows[0].violation == "sidewalk_parking"
        kinds = {e.kind for e in s.scalars(select(Evidence).where(Evidence.candidate_id == rows[0].id))}
    assert {"frame", "crop"} <= kinds
    assert worker.stats["created"] == 1
