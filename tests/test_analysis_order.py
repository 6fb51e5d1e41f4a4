"""Near a full machine the worker serves the earliest captured live frames first, and the threads
that write evidence run at a lower priority than the analysis."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from streetwarden.camera_adapters import Frame
from streetwarden.pipeline.clip_recorder import ClipRecorder
from streetwarden.pipeline.evidence_grabber import EvidenceGrabber
from streetwarden.pipeline.store_thread import StoreThread
from streetwarden.pipeline.thread_priority import EVIDENCE_NICE
from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.config import parse_settings
from tests.conftest import shared_path
from tests.waiting import wait_for


def _worker(tmp_path: Path, sources: list[str]) -> Worker:
    data = {"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "cameras": [{"id": f"cam{i}", "source": src, "analysis_fps": 1} for i, src in enumerate(sources)]}
    settings = parse_settings(data, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    return Worker(settings, db)  # readers not started: the test fills their queues itself


def test_live_frames_are_served_oldest_capture_first(tmp_path: Path) -> None:
    picture = cv2.imread(str(shared_path("media", "bus.jpg")))
    # port 9 (discard): nothing is read, the runners only hold the frames the test gives them
    worker = _worker(tmp_path, [f"rtsp://127.0.0.1:9/cam{i}" for i in range(6)])
    runners = worker.runners
    assert all(r.live for r in runners)
    captured = [1000.4, 1000.1, 1000.5, 1000.0, 1000.3, 1000.2]  # camera i's frame was captured at this time
    for r, ts in zip(runners, captured):
        r._put(Frame(r.cam.id, ts, picture, live=True))
    first = worker._collect(4, timeout=0)
    assert [f.ts for _, f in first] == [1000.0, 1000.1, 1000.2, 1000.3]
    assert [r.cam.id for r, f in first] == ["cam3", "cam1", "cam5", "cam4"]
    # a newer frame of a camera already served does not overtake the ones still waiting
    runners[3]._put(Frame("cam3", 1000.6, picture, live=True))
    second = worker._collect(4, timeout=0)
    assert [f.ts for _, f in second] == [1000.4, 1000.5, 1000.6]
    assert worker._collect(4, timeout=0) == []
    # nothing lost, nothing twice
    served = [(r.cam.id, f.ts) for r, f in first + second]
    assert len(set(served)) == len(served) == 7


def test_file_frames_stay_round_robin(tmp_path: Path) -> None:
    """File frames carry seconds into their own file: not comparable across cameras, so one per camera per pass."""
    clip = shared_path("media", "vtest.avi")
    worker = _worker(tmp_path, [str(clip), str(clip)])
    a, b = worker.runners
    assert not a.live and not b.live
    picture = np.zeros((8, 8, 3), np.uint8)
    for ts in (5.0, 6.0, 7.0):
        a._put(Frame("cam0", ts, picture))
    b._put(Frame("cam1", 100.0, picture))
    batch = worker._collect(3, timeout=0)
    assert [(r.cam.id, f.ts) for r, f in batch] == [("cam0", 5.0), ("cam1", 100.0), ("cam0", 6.0)]


def test_evidence_threads_are_nicer_than_the_analysis(tmp_path: Path) -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    want = min(19, base + EVIDENCE_NICE)
    seen: dict[str, int] = {}
    done = threading.Event()

    def record(name: str) -> None:
        seen[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    store = StoreThread(lambda: True)
    store.submit(lambda items: record("store"), [])
    store.close()
    db = Database(f"sqlite:///{tmp_path}/clips.db")
    db.upgrade()
    clips = ClipRecorder(db, tmp_path / "data")
    clips.submit(0.0, "cam", lambda: (record("clips"), done.set()))
    assert done.wait(10), "the clip thread never ran its job"
    clips.close()
    assert seen == {"store": want, "clips": want}
    grabber = EvidenceGrabber(db, tmp_path / "data")
    thread = grabber._thread
    assert wait_for(lambda: thread.native_id is not None
                    and os.getpriority(os.PRIO_PROCESS, thread.native_id) == want, 10), \
        "the main-stream evidence thread kept the analysis priority"
    grabber.close()
    # the caller (the analysis side) keeps its priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
