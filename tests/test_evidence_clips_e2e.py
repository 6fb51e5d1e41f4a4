"""The queue plays a candidate's evidence clip in real headless Chromium: the real pipeline raises the
parked van from real footage and keeps its clip; the page loads it (readyState >= 2), the clip plays
and the frame-step keys move it, and the zone and the box are drawn on the canvas over the video.
Screenshots at 1440, 1024 and 390 px in test-artifacts/evidence_clips/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from streetwarden.config import parse_settings
from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from streetwarden.store.schema import Evidence
from tests.review_support import PASSWORD, LiveServer, add_users
from tests.ui_support import REPO, chromium, login

ART = REPO / "test-artifacts" / "evidence_clips"
WIDTHS = (1440, 1024, 390)


@pytest.fixture(scope="module")
def served(tmp_path_factory, vtest_path: Path):  # type: ignore[no-untyped-def]
    from tests.rtsp_server import transcode

    tmp = tmp_path_factory.mktemp("clips-e2e")
    footage = transcode(vtest_path, tmp / "short.mp4", gop=10, seconds=30)
    data = {"database": f"sqlite:///{tmp}/sw.db", "storage": str(tmp / "data"), "server": {"undo_seconds": 0},
            "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
            "cameras": [{"id": "west-gate", "name": "西门", "source": str(footage), "analysis_fps": 1,
                         "zones": [{"id": "walk-1", "name": "西门人行道", "kind": "sidewalk", "dwell_seconds": 10,
                                    "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}]}]}
    settings = parse_settings(data, base_dir=tmp)
    db = Database(settings.database_url)
    db.upgrade()
    Worker(settings, db, once=True).run()
    add_users(db)
    with db.session() as s:
        assert s.scalar(select(Evidence).where(Evidence.kind == "clip")) is not None
    with LiveServer(settings, db) as srv:
        yield srv


def overlay_pixels(page) -> int:  # type: ignore[no-untyped-def]
    """Drawn (non-transparent) pixels of the overlay canvas."""
    return page.evaluate("""() => { const c = document.getElementById('ev-overlay');
        if (!c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")


def test_queue_plays_the_clip_with_zone_and_box_drawn(served) -> None:  # type: ignore[no-untyped-def]
    ART.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, served.url, "rev1", PASSWORD, "/queue")
        page.wait_for_selector("#thumbs figure[data-kind=clip]")
        page.keyboard.press("v")  # show the clip and play it
        page.wait_for_function("() => !document.getElementById('clip-frame').hidden")
        page.wait_for_function("() => document.getElementById('ev-video').readyState >= 2", timeout=30_000)
        page.wait_for_function("() => document.getElementById('ev-video').currentTime > 0.2", timeout=30_000)
        page.keyboard.press("v")  # pause
        page.wait_for_function("() => document.getElementById('ev-video').paused")
        # one frame forward, then back: paused, and the time moves by one frame (10 fps footage)
        before = page.evaluate("() => document.getElementById('ev-video').currentTime")
        page.keyboard.press(".")
        page.wait_for_function(f"() => Math.abs(document.getElementById('ev-video').currentTime - {before} - 0.1) < 0.02")
        page.keyboard.press(",")
        page.wait_for_function(f"() => Math.abs(document.getElementById('ev-video').currentTime - {before}) < 0.02")
        assert page.evaluate("() => document.getElementById('ev-video').paused")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
            # the overlay is redrawn at the video's new size: same box as the picture shown
            page.wait_for_function("""() => { const v = document.getElementById('ev-video'), c = document.getElementById('ev-overlay');
                return v.clientWidth > 0 && c.width === v.clientWidth && c.height === v.clientHeight; }""")
            assert overlay_pixels(page) > 200, f"nothing drawn over the video at {width} px"
            assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), f"horizontal scroll at {width} px"
            page.screenshot(path=str(ART / f"queue-clip-{width}.png"))
        # the key help documents the clip keys in zh-CN
        page.keyboard.press("?")
        help_text = page.inner_text("#help")
        assert "视频后退 / 前进一帧" in help_text and "播放 / 暂停现场视频" in help_text
        page.keyboard.press("Escape")
        # the still pictures are still there: `e` goes back to a picture and the video stops
        page.keyboard.press("e")
        page.wait_for_function("() => document.getElementById('clip-frame').hidden && document.getElementById('ev-video').paused")
