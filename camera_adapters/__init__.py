"""Frames in: video files, image folders, RTSP streams and HTTP snapshots."""

from camera_adapters.base import FrameSource, SourceError, SourceHealth
from camera_adapters.factory import open_source
from camera_adapters.frame import Frame
from camera_adapters.live import LiveOptions

__all__ = ["Frame", "FrameSource", "LiveOptions", "SourceError", "SourceHealth", "open_source"]
