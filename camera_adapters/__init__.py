"""Frames in: video files, image folders, RTSP streams and HTTP snapshots."""

from streetwarden.camera_adapters.base import FrameSource, SourceError, SourceHealth
from streetwarden.camera_adapters.factory import open_source
from streetwarden.camera_adapters.frame import Frame
from streetwarden.camera_adapters.live import LiveOptions

__all__ = ["Frame", "FrameSource", "LiveOptions", "SourceError", "SourceHealth", "open_source"]
