"""A packet ring filled from a real RTSP stream, for the clip tests that cut from a live camera's ring."""

from __future__ import annotations

from streetwarden.camera_adapters.live import LiveOptions
from streetwarden.camera_adapters.packet_ring import PacketRing
from streetwarden.camera_adapters.rtsp import RtspSource


def ring_from_rtsp(url: str, seconds: float = 5.0) -> PacketRing:
    """Read `url` as a key-frame-only RTSP camera until its ring spans `seconds`, then close the camera
    and hand back the ring (30 s / 8 MB caps, so nothing falls out while it fills)."""
    src = RtspSource("cam", url, 1.0, LiveOptions(keyframe_only=True, timeout=5))
    ring = src.ring = PacketRing(seconds=30, max_bytes=8_000_000)
    try:
        for _ in src.frames():
            span = ring.span()
            if span and span[1] - span[0] >= seconds:
                break
    finally:
        src.close()
    return ring
