"""The worker keeps the garbage collector's full passes short: what it made at start-up is set
aside while it runs (and given back when it stops), and a camera's packet ring holds nothing the
collector has to walk."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import av

from streetwarden.camera_adapters.packet_ring import PacketRing
from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.config import parse_settings
from tests.conftest import shared_path
from tests.waiting import wait_for


def test_ring_packets_are_not_walked_by_the_collector() -> None:
    ring = PacketRing(seconds=3600, max_bytes=1 << 30)
    with av.open(str(shared_path("media", "vtest.avi"))) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                ring.append(packet.pts * tb, bytes(packet), packet.pts, packet.dts, int(packet.duration or 0),
                            bool(packet.is_keyframe))
    held = list(ring._packets)
    assert len(held) > 500 and ring.size_bytes == sum(len(p[1]) for p in held)
    gc.collect()
    assert not any(gc.is_tracked(p) for p in held)  # a ring of 500 packets per camera costs a full pass nothing


def test_a_live_worker_sets_its_start_up_objects_aside_until_it_stops(tmp_path: Path) -> None:
    data = {"database": f"sqlite:///{tmp_path}/sw.db", "storage": str(tmp_path / "data"),
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            # port 9 (discard): a camera that never answers; the worker runs on regardless
            "cameras": [{"id": "cam0", "source": "rtsp://127.0.0.1:9/cam0", "timeout_seconds": 2}]}
    settings = parse_settings(data, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db)
    assert gc.get_freeze_count() == 0
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: gc.get_freeze_count() > 0, 30)
        # the settings (made before the worker started) are out of the collector's generations
        assert not any(o is settings.cameras for o in gc.get_objects())
    finally:
        worker.stop()
        thread.join(60)
    assert not thread.is_alive()
    assert gc.get_freeze_count() == 0  # what the worker leaves behind is collectable again
    assert any(o is settings.cameras for o in gc.get_objects())
