"""Frames in: video files, image folders, and (later) RTSP streams and HTTP snapshots."""

from camera_adapters.base import FrameSource, SourceError, SourceHealth
from camera_adapters.factory import open_source
from camera_adapters.frame import Frame

__all__ = ["Frame", "FrameSource", "SourceError", "SourceHealth", "open_source"]
