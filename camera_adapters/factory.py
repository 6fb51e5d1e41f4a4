"""Choose the adapter for a camera's `source` string."""

from __future__ import annotations

from pathlib import Path

from camera_adapters.base import FrameSource, SourceError
from camera_adapters.images import IMAGE_SUFFIXES, ImageSource
from camera_adapters.video_file import VideoFileSource

# Live adapters register here (scheme -> factory(camera_id, url, analysis_fps)).
LIVE_ADAPTERS: dict[str, object] = {}


def open_source(camera_id: str, source: str, analysis_fps: float) -> FrameSource:
    """Open a file, folder or URL source; raise SourceError with a message fit for the user."""
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme:
        factory = LIVE_ADAPTERS.get(scheme)
        if factory is None:
            raise SourceError(f"camera {camera_id}: no adapter for '{scheme}://' sources (supported: files, folders, {', '.join(sorted(LIVE_ADAPTERS)) or 'none live yet'})")
        return factory(camera_id, source, analysis_fps)  # type: ignore[operator]
    path = Path(source)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(camera_id, path, analysis_fps)
    return VideoFileSource(camera_id, path, analysis_fps)
