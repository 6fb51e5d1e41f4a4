"""Choose the adapter for a camera's `source` string."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from streetwarden.camera_adapters.base import FrameSource, SourceError
from streetwarden.camera_adapters.images import IMAGE_SUFFIXES, ImageSource
from streetwarden.camera_adapters.live import LiveOptions
from streetwarden.camera_adapters.video_file import VideoFileSource

LiveFactory = Callable[[str, str, float, LiveOptions | None], FrameSource]


def _rtsp(camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> FrameSource:
    from streetwarden.camera_adapters.rtsp import RtspSource

    return RtspSource(camera_id, url, analysis_fps, options)


def _http(camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> FrameSource:
    from streetwarden.camera_adapters.http_snapshot import HttpSnapshotSource

    return HttpSnapshotSource(camera_id, url, analysis_fps, options)


def _loop(camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> FrameSource:
    from streetwarden.camera_adapters.looping_file import LoopingFileSource

    return LoopingFileSource(camera_id, url, analysis_fps)


# Live adapters by URL scheme: factory(camera_id, url, analysis_fps, options).
LIVE_ADAPTERS: dict[str, LiveFactory] = {"rtsp": _rtsp, "rtsps": _rtsp, "http": _http, "https": _http, "loop": _loop}


def open_source(camera_id: str, source: str, analysis_fps: float, options: LiveOptions | None = None) -> FrameSource:
    """Open a file, folder or URL source; raise SourceError with a message fit for the user."""
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme:
        factory = LIVE_ADAPTERS.get(scheme)
        if factory is None:
            raise SourceError(f"camera {camera_id}: no adapter for '{scheme}://' sources (supported: files, folders, {', '.join(sorted(LIVE_ADAPTERS)) or 'none live yet'})")
        return factory(camera_id, source, analysis_fps, options)
    path = Path(source)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(camera_id, path, analysis_fps)
    return VideoFileSource(camera_id, path, analysis_fps)


def grab_still(url: str, options: LiveOptions) -> np.ndarray:
    """One full-resolution picture from a camera URL (rtsp: first key frame; http: one snapshot)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("rtsp", "rtsps"):
        from streetwarden.camera_adapters.live import with_credentials
        from streetwarden.camera_adapters.rtsp import grab_keyframe

        return grab_keyframe(with_credentials(url, options.username, options.password), options)
    if scheme in ("http", "https"):
        from streetwarden.camera_adapters.http_snapshot import grab_snapshot

        return grab_snapshot(url, options)
    raise SourceError(f"no still-picture adapter for '{scheme}://' URLs")
