"""File and image sources: one interface, timestamped frames at the analysis rate."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from streetwarden.camera_adapters import SourceError, open_source
from streetwarden.camera_adapters.images import ImageSource
from streetwarden.camera_adapters.video_file import VideoFileSource
from tests.conftest import shared_path


def test_video_at_analysis_rate(vtest_path):
    src = open_source("c", str(vtest_path), 2.0)
    assert isinstance(src, VideoFileSource) and not src.live
    frames = list(src.frames())
    ts = np.array([f.ts for f in frames])
    assert len(frames) == 159 and ts[0] == 0.0 and np.allclose(np.diff(ts), 0.5)
    assert [f.index for f in frames[:3]] == [0, 5, 10]  # every 5th frame of a 10 fps clip
    assert frames[0].image.shape == (576, 768, 3) and frames[0].camera_id == "c"
    assert src.health.frames_in == 795 and src.health.frames_analysed == 159 and src.health.state == "ended"


def test_video_rate_above_native_gives_every_frame(vtest_path):
    frames = list(open_source("c", str(vtest_path), 25.0).frames())
    assert len(frames) == 795
    assert not np.array_equal(frames[0].image, frames[1].image)


def test_uneven_rate(vtest_path):
    ts = [f.ts for f in open_source("c", str(vtest_path), 3.0).frames()]
    assert abs(len(ts) - 80 * 3) <= 3 and max(np.diff(ts)) <= 0.4 + 1e-6


def test_image_file_and_folder(tmp_path):
    for name in ("b.jpg", "a.jpg"):
        shutil.copy(shared_path("media", "zidane.jpg" if name == "a.jpg" else "bus.jpg"), tmp_path / name)
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source("c", str(tmp_path), 0.5)
    assert isinstance(src, ImageSource)
    frames = list(src.frames())
    assert [f.ts for f in frames] == [0.0, 2.0]
    assert frames[0].image.shape == (720, 1280, 3) and frames[1].image.shape == (1080, 810, 3)  # name order
    one = list(open_source("c", str(shared_path("media", "bus.jpg")), 1).frames())
    assert len(one) == 1


def test_bad_sources(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        open_source("c", str(tmp_path), 1)
    with pytest.raises(SourceError, match="no adapter for 'ftp://'"):
        open_source("c", "ftp://cam/x", 1)
