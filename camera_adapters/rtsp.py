"""IP cameras over RTSP (H.264, H.265, anything FFmpeg decodes), read with PyAV.

Violations last minutes, so a camera is analysed about once a second; decoding all 25 frames a
second of a stream to keep one would waste most of the CPU. In keyframe-only mode only key
(intra) frames reach the decoder, and only those due for analysis; the others are read off the
network and dropped without decoding. In full mode every frame is decoded (P-frames need their
references) but only the due ones are converted to BGR.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import av
import av.error
from av.codec.hwaccel import HWAccel
import numpy as np

from streetwarden.camera_adapters.base import SourceError
from streetwarden.camera_adapters.decode_pool import DecodePool
from streetwarden.camera_adapters.frame import Frame
from streetwarden.camera_adapters.live import LiveOptions, LiveSource, RateGate, ReadPacer, StreamClock, phase_of
from streetwarden.camera_adapters.packet_ring import PacketRing, StreamTemplate
from streetwarden.logs import event

MAX_CONSECUTIVE_DECODE_ERRORS = 100


def undecodable(errors: int) -> SourceError:
    """The session's end when its key frames stop decoding (a failing encoder, a corrupting link)."""
    return SourceError(f"{errors} undecodable frames in a row (corrupt stream?): check the camera's encoder "
                       "settings (H.264/H.265, no unusual profile) and the network link; it reconnects meanwhile")


def decode(ctx: av.codec.context.CodecContext, packet: av.Packet, keyframe_only: bool) -> list | None:
    """The packet's pictures, or None when it is undecodable. In keyframe-only mode a key frame that
    gives no picture on a decoder without reorder delay is undecodable too: with ``skip_frame`` NONKEY
    a corrupt key frame is dropped without an error (a decoder that reorders, B-frames, gives each
    picture one key frame late, so there an empty result is normal)."""
    try:
        decoded = ctx.decode(packet)
    except av.error.FFmpegError:
        return None
    return None if keyframe_only and not decoded and not ctx.has_b_frames else decoded


log = logging.getLogger("streetwarden.camera")


def container_options(options: LiveOptions) -> dict[str, str]:
    """FFmpeg demuxer options: transport, socket timeout, short probing (fast start, little memory)."""
    return {
        "rtsp_transport": options.transport,
        "timeout": str(int(options.timeout * 1_000_000)),  # socket I/O timeout, microseconds
        "analyzeduration": "1000000",
        "probesize": "1000000",
        "allowed_media_types": "video",
        "max_delay": "500000",
    }


def open_container(url: str, options: LiveOptions, camera_id: str = "") -> av.container.InputContainer:
    """Open with PyAV's timeout for the connection only. While reading, the socket timeout above
    ends a silent stream: PyAV's read timeout takes the GIL on every FFmpeg I/O callback (hundreds
    a second per camera), which cost 15 % of the receive CPU with many cameras.

    With ``hw_decode`` the decoder runs on the GPU or media engine (FFmpeg's hwaccel through PyAV;
    frames come back to memory for the model). A device that cannot start is a camera error naming
    what to install, or, with ``hw_decode_fallback``, one warning and the CPU."""
    kwargs = {"container_options": container_options(options), "timeout": (options.timeout, None)}
    if options.hw_decode == "none":
        return av.open(url, **kwargs)
    accel = HWAccel(device_type=options.hw_decode, allow_software_fallback=options.hw_decode_fallback)
    try:
        return av.open(url, hwaccel=accel, **kwargs)
    except (PermissionError, RuntimeError, ValueError, NotImplementedError) as err:
        # FFmpeg could not create the device (no GPU, no driver, a build without it): EPERM / ENODEV
        # come back as OSError subclasses, an incompatible stream as RuntimeError; network errors are
        # av.error.* and pass through unchanged
        if not options.hw_decode_fallback:
            raise SourceError(f"hardware decoding ({options.hw_decode}) cannot start here: {err}. Install the "
                              f"GPU driver and a PyAV/FFmpeg built with {options.hw_decode}, or set hw_decode: none "
                              "(or hw_decode_fallback: true to decode on the CPU)") from None
        event(log, "hw_decode_fallback", logging.WARNING, camera=camera_id, device=options.hw_decode,
              error=f"{type(err).__name__}: {err}")
        return av.open(url, **kwargs)


def configure_decoder(ctx: av.codec.context.CodecContext, keyframe_only: bool, fast: bool) -> None:
    """Set a stream's decoder up before its first packet: one thread (many cameras, not one fast
    one), key frames only, and optionally no deblocking filter (``fast_decode``)."""
    ctx.thread_count = 1
    if keyframe_only:
        ctx.skip_frame = "NONKEY"
    if fast:
        ctx.options = {"skip_loop_filter": "all", "flags2": "+fast"}  # applied when the decoder opens


def stream_template(stream: av.video.stream.VideoStream, camera_id: str) -> StreamTemplate | None:
    """The stream's template for clips; None (no clips, frames still flow) when PyAV cannot copy it."""
    try:
        return StreamTemplate(stream)
    except Exception as err:  # a clip is extra evidence: never a reason to lose the camera
        event(log, "clip_template_failed", logging.WARNING, camera=camera_id, error=f"{type(err).__name__}: {err}")
        return None


class InterFrameBytes:
    """Bytes of the inter (non-key) frames since the last analysed key frame: free evidence of motion
    on a variable-bitrate stream, counted before anything is decoded (pipeline/stream_bytes.py)."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def add(self, size: int) -> None:
        self.total += size
        self.count += 1

    def close(self) -> float | None:
        """Mean bytes per inter frame of the interval just ended (None: none arrived), and restart."""
        mean = self.total / self.count if self.count else None
        self.total = self.count = 0
        return mean


class PooledDecodes:
    """One session's key-frame decodes on the worker's :class:`DecodePool`: at most one in flight,
    delivered in order, and none after the session has closed its container (a decode on a freed
    codec context would crash the process, so closing waits for the one running)."""

    def __init__(self, source: "RtspSource", ctx: av.codec.context.CodecContext, tb: float, clock: StreamClock) -> None:
        self.source, self.ctx, self.tb, self.clock = source, ctx, tb, clock
        self._lock = threading.Lock()
        self._open = True
        self.pending = False  # a key frame queued or decoding: the reader skips the next one meanwhile
        self.errors = 0  # undecodable key frames in a row
        self.last: tuple[float, np.ndarray] | None = None  # the session's last decoded picture

    def submit(self, pool: DecodePool, packet: av.Packet, ts: float, sizes: float | None, now: float) -> None:
        self.pending = True
        pool.submit(lambda: self._decode(packet, ts, sizes, now))

    def _decode(self, packet: av.Packet, ts: float, sizes: float | None, now: float) -> None:
        try:
            with self._lock:
                if not self._open:
                    return
                out = self._pictures(packet, ts, sizes, now)
            deliver = self.source.deliver
            for frame in out:
                if deliver is not None:
                    deliver(frame)
        finally:
            self.pending = False  # after delivery: the next key frame cannot overtake this one

    def _pictures(self, packet: av.Packet, ts: float, sizes: float | None, now: float) -> list[Frame]:
        src = self.source
        decoded = decode(self.ctx, packet, True)
        if decoded is None:
            src.health.decode_errors += 1
            self.errors += 1
            return []
        self.errors = 0
        out = []
        for frame in decoded:
            fts = src._decoded_at(frame, ts, self.tb, self.clock)
            out.append(src._picture(frame, fts, now, sizes))
            self.last = (fts, out[-1].image)
        return out

    def close(self) -> None:
        """No decode after this returns (waits for the one running)."""
        with self._lock:
            self._open = False


class RtspSource(LiveSource):
    """An RTSP camera; reconnects forever with back-off (see :class:`LiveSource`)."""

    def __init__(self, camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> None:
        super().__init__(camera_id, url, analysis_fps, options)
        if self.options.transport not in ("tcp", "udp"):
            raise SourceError(f"camera {camera_id}: rtsp_transport must be tcp or udp, got {self.options.transport!r}")
        self.index = 0
        self.decoded = 0  # frames out of the decoder (keyframe-only: only the analysed ones)
        self.codec: str | None = None
        self.frame_size: tuple[int, int] | None = None
        self.stream_lag = 0.0  # seconds between capture (stream clock) and decode of the last frame
        self.ring: PacketRing | None = None  # set by the pipeline when clips are kept: every packet goes in
        # set by the pipeline when gating may skip decodes on small inter frames (pipeline/stream_bytes.py)
        self.decode_needed: Callable[[float, float | None], bool] | None = None
        self.read_pauses = 0  # bursts read (ReadPacer), over all sessions
        # set by the pipeline: key frames are decoded on the worker's decode pool and each picture is
        # handed to `deliver` from there, instead of being yielded by `frames()` (keyframe-only mode)
        self.decode_pool: DecodePool | None = None
        self.deliver: Callable[[Frame], None] | None = None

    def _decoded_at(self, frame: av.VideoFrame, ts: float, tb: float, clock: StreamClock) -> float:
        """A decoded picture's capture time (its own pts where the stream clock is known); counts the
        picture as decoded and the camera as online, due or not."""
        self.decoded += 1
        self._mark_online()
        return ts if frame.pts is None or clock.offset is None else frame.pts * tb + clock.offset

    def _picture(self, frame: av.VideoFrame, fts: float, now: float, sizes: float | None) -> Frame:
        """A due picture as the pipeline's frame, counted in the camera's health."""
        image = frame.to_ndarray(format="bgr24")
        self.frame_size = (int(image.shape[1]), int(image.shape[0]))
        self.stream_lag = max(0.0, now - fts)
        self.health.frames_analysed += 1
        self.index += 1
        return Frame(self.camera_id, fts, image, self.index, live=True, stream_bytes=sizes)

    def pacer(self) -> ReadPacer | None:
        """Burst reading for TCP streams. Not for UDP: a key frame arriving while the reader sleeps
        could overflow the socket's receive buffer, and UDP has no flow control to hold it back."""
        if self.options.transport != "tcp" or self.options.read_batch <= 0:
            return None
        return ReadPacer(self.options.read_batch, self._closed)

    def clip_cutter(self):  # type: ignore[no-untyped-def]
        from streetwarden.camera_adapters.clips import RingCutter

        return RingCutter(self.ring) if self.ring is not None else None

    def _session(self) -> Iterator[Frame]:
        container = open_container(self.url, self.options, self.camera_id)
        pacer: ReadPacer | None = None
        pooled: PooledDecodes | None = None
        try:
            if not container.streams.video:
                raise SourceError("the stream has no video track")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            keyframe_only = self.options.keyframe_only
            configure_decoder(ctx, keyframe_only, self.options.fast_decode)
            self.codec = ctx.name
            tb = float(stream.time_base) if stream.time_base else 1 / 90000
            clock, gate = StreamClock(), RateGate(self.analysis_fps, phase_of(self.camera_id))
            ring = self.ring
            if ring is not None:
                ring.reset(stream_template(stream, self.camera_id))
            errors = 0
            inter = InterFrameBytes()
            last: tuple[float, np.ndarray] | None = None  # this session's last decoded picture
            pacer = self.pacer()
            pooled = (PooledDecodes(self, ctx, tb, clock)
                      if keyframe_only and self.decode_pool is not None and self.deliver is not None else None)
            packets = container.demux(stream)
            if pacer is not None:
                packets = pacer.packets(packets)
            for packet in packets:
                if self._closed.is_set():
                    return
                if packet.size == 0:
                    continue  # demuxer flush packet at the end of the stream
                now = time.time()
                self.health.frames_in += 1
                self.health.last_frame_at = now
                ts = clock.capture_time(packet.pts * tb if packet.pts is not None else None, now)
                if pacer is not None and packet.pts is not None:
                    pacer.note(now - ts, now)
                if ring is not None:  # before any skipping: a clip needs every packet
                    ring.append(ts, bytes(packet), packet.pts, packet.dts, int(packet.duration or 0),
                                bool(packet.is_keyframe))
                if keyframe_only:
                    if not packet.is_keyframe:
                        inter.add(packet.size)
                        continue  # never decoded: the saving of keyframe-only mode
                    if not gate.due(ts):
                        continue
                    if not self.wants_frame():
                        self.health.frames_dropped += 1  # analysis still busy: skip, try the next key frame
                        continue
                    if pooled is not None:
                        if pooled.errors > MAX_CONSECUTIVE_DECODE_ERRORS:
                            raise undecodable(pooled.errors)
                        if pooled.pending:
                            self.health.frames_dropped += 1  # the last key frame is still being decoded
                            continue
                        last = pooled.last
                    sizes = inter.close()
                    # (a decoder with a reorder delay, B-frames, gives each key frame's picture one key frame
                    # late: skipping one would hold the next back too, so such streams always decode)
                    if (last is not None and self.decode_needed is not None and not ctx.has_b_frames
                            and not self.decode_needed(ts, sizes)):
                        gate.taken(ts)  # nothing moved in the whole view: the last picture stands for this one
                        self.health.frames_analysed += 1
                        self.index += 1
                        yield Frame(self.camera_id, ts, last[1], self.index, live=True, run_model=False, decoded=False,
                                    picture_ts=last[0], stream_bytes=sizes)
                        continue
                    if pooled is not None:
                        gate.taken(ts)
                        pooled.submit(self.decode_pool, packet, ts, sizes, now)
                        continue
                else:
                    sizes = None
                decoded = decode(ctx, packet, keyframe_only)
                if decoded is None:
                    self.health.decode_errors += 1
                    errors += 1
                    if errors > MAX_CONSECUTIVE_DECODE_ERRORS:
                        raise undecodable(errors)
                    continue
                errors = 0
                for frame in decoded:
                    fts = self._decoded_at(frame, ts, tb, clock)
                    if not gate.due(fts):
                        continue
                    if not self.wants_frame():
                        self.health.frames_dropped += 1
                        continue
                    gate.taken(fts)
                    picture = self._picture(frame, fts, now, sizes)
                    last = (fts, picture.image)
                    yield picture
        finally:
            if pooled is not None:
                pooled.close()
            if pacer is not None:
                self.read_pauses += pacer.pauses
            container.close()

    def _explain(self, err: BaseException, elapsed: float) -> tuple[str, str]:
        return explain_failure(err, elapsed, self.options.timeout, self._connected, self.host, self.port, self.mask)


def explain_failure(err: BaseException, elapsed: float, timeout: float, connected: bool, host: str,
                    port: int | None, mask) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(state, reason) for an FFmpeg/PyAV failure, phrased for an operator."""
    where = f"{host}:{port}" if port else host
    msg = mask(str(err))
    if isinstance(err, SourceError):
        return ("reconnecting" if connected else "error"), msg
    if isinstance(err, av.error.HTTPUnauthorizedError):
        return "error", "authentication failed (401 Unauthorized): check the camera's username and password"
    if isinstance(err, av.error.HTTPForbiddenError):
        return "error", "access denied (403 Forbidden): this user may not view the stream"
    if isinstance(err, av.error.HTTPNotFoundError):
        return "error", "stream not found (404 Not Found): check the path in the camera URL"
    if isinstance(err, av.error.HTTPClientError):
        return "error", f"the camera refused the request: {msg}"
    if isinstance(err, av.error.HTTPServerError):
        return "offline", f"the camera reported a server error: {msg}"
    if isinstance(err, (av.error.ProtocolNotFoundError, av.error.DecoderNotFoundError, av.error.DemuxerNotFoundError)):
        return "error", f"unsupported stream: {msg}"
    if isinstance(err, av.error.ConnectionRefusedError):
        return "offline", f"connection refused by {where}: nothing listens there (camera down or wrong port)"
    timed_out = isinstance(err, (av.error.ExitError, av.error.TimeoutError, TimeoutError)) or elapsed >= 0.9 * timeout
    if timed_out:
        if connected:
            return "reconnecting", f"no video from {where} for {timeout:g} s"
        return "offline", f"no answer from {where} within {timeout:g} s (connection accepted or pending, but no RTSP reply)"
    if isinstance(err, (av.error.EOFError, EOFError, av.error.ConnectionResetError, av.error.BrokenPipeError)):
        return ("reconnecting" if connected else "offline"), f"the connection to {where} was closed: {msg}"
    return ("reconnecting" if connected else "offline"), f"cannot read the stream from {where}: {msg}"


def grab_keyframe(url: str, options: LiveOptions) -> np.ndarray:
    """One full picture from a stream (connect, decode its first key frame, disconnect): the
    evidence snapshot from a camera's main stream while its sub-stream is analysed."""
    deadline = time.monotonic() + options.timeout + 10.0
    container = open_container(url, options)
    try:
        if not container.streams.video:
            raise SourceError("the stream has no video track")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        configure_decoder(ctx, True, False)  # evidence: always the full-quality decode
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                break
            if packet.size == 0 or not packet.is_keyframe:
                continue
            try:
                for frame in ctx.decode(packet):
                    return frame.to_ndarray(format="bgr24")
            except av.error.FFmpegError:
                continue
        raise SourceError("no key frame received")
    finally:
        container.close()
