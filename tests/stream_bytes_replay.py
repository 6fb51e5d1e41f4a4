"""Replays a real H.264 file the way a keyframe-only RTSP reader sees it (packets in order, inter
frames only counted, key frames at the analysis rate), through the motion gate and the stream-bytes
test, and checks every key frame the bytes skipped against the pixel test on the decoded picture.

Used by tests/test_stream_bytes.py and bench/bench_stream_bytes.py: the same replay is the proof
(nothing the pixel test would have seen is skipped) and the measurement (decodes saved).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2

from streetwarden.camera_adapters.live import RateGate
from streetwarden.camera_adapters.rtsp import InterFrameBytes, configure_decoder
from streetwarden.config import GatingConfig, ZoneConfig
from streetwarden.pipeline.motion_gate import MotionGate, thumbnail
from streetwarden.pipeline.stream_bytes import StreamBytesTest
from tests.rtsp_server import transcode
from tests.test_motion_gate import ARRIVE, FPS, PARKED, clip_frames

EMPTY = ARRIVE[0] - 1  # car-detection.mp4: the asphalt just before the red car comes
QUIET_A, VISIT, QUIET_B, PARK = 8.0, 6.0, 10.0, 30.0  # seconds of each still part of the clip below
SECOND_ARRIVAL = QUIET_A + 2 * len(ARRIVE) / FPS + VISIT + QUIET_B  # when the car starts its second arrival


def visit_then_park(folder: Path) -> Path:
    """Real footage made still the way a quiet street is: car-detection.mp4's empty asphalt (frame
    177) held, the real frames of the red car driving into view (178-220), parked, driving off (the
    same frames backwards), the street empty again, and the car arriving a second time to park for
    good. H.264 at constant quality (a variable-bitrate camera), a key frame every 12 frames (0.96 s),
    light temporal noise like a sensor's."""
    frames = clip_frames()
    raw = folder / "visit-then-park.avi"
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(raw), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    assert out.isOpened(), "OpenCV cannot write MJPG here"

    def hold(i: int, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            out.write(frames[i])

    hold(EMPTY, QUIET_A)
    for i in ARRIVE:
        out.write(frames[i])
    hold(PARKED, VISIT)
    for i in reversed(ARRIVE):
        out.write(frames[i])
    hold(EMPTY, QUIET_B)
    for i in ARRIVE:
        out.write(frames[i])
    hold(PARKED, PARK)
    out.release()
    return transcode(raw, folder / "visit-then-park.mp4", gop=12, crf=28, noise=3)


@dataclass
class Replay:
    analysed: int = 0  # key frames taken at the analysis rate
    decode_skips: int = 0  # of those, skipped on the bytes alone
    model_runs: int = 0
    missed: list[float] = field(default_factory=list)  # skipped key frames where the pixel test saw a change
    first_trusted: float | None = None  # stream time of the first skip
    decode_ms: float = 0.0  # CPU of one key frame's decode + BGR, mean over the replay
    still_seen: int = 0  # decoded intervals the rule learned from, of each kind
    changed_seen: int = 0


def replay(path: Path, fps: float, config: GatingConfig, zones: list[ZoneConfig] = ()) -> Replay:
    gate = MotionGate(config, zones)
    test = StreamBytesTest(config, gate)
    out = Replay()
    spent = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        configure_decoder(stream.codec_context, keyframe_only=True, fast=False)
        rate, inter = RateGate(fps), InterFrameBytes()
        have_picture = False
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            ts = packet.pts * tb
            if not packet.is_keyframe:
                inter.add(packet.size)
                continue
            if not rate.due(ts):
                continue
            rate.taken(ts)
            out.analysed += 1
            sizes = inter.close()
            needed = not have_picture or not config.stream_bytes or test.decode_needed(ts, sizes)
            t0 = time.thread_time()
            frames = stream.codec_context.decode(packet)  # decoded always: the judge needs the picture
            assert frames and not stream.codec_context.has_b_frames, f"{path.name}: B-frames (the reader decodes those always)"
            image = frames[0].to_ndarray(format="bgr24")
            spent += time.thread_time() - t0
            thumb = thumbnail(image, config.thumbnail_width)
            # the judge: would the pixel test, against the same reference, have called this a change?
            if not needed:
                out.decode_skips += 1
                if out.first_trusted is None:
                    out.first_trusted = ts
                if gate.changed(thumb):
                    out.missed.append(round(ts, 2))
                gate.carry()
                continue
            have_picture = True
            if gate.decide(ts, thumb):
                out.model_runs += 1
            test.learn(sizes, gate.last_change)
    out.decode_ms = 1000 * spent / max(out.analysed, 1)
    out.still_seen, out.changed_seen = test.still_seen, test.changed_seen
    return out
