"""One camera inside a worker: a reader thread that decodes into a small queue, and its engine."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from streetwarden.camera_adapters import Frame, FrameSource, LiveOptions, SourceError, SourceHealth, open_source
from streetwarden.camera_adapters.decode_pool import DecodePool
from streetwarden.camera_adapters.live import split_credentials
from streetwarden.camera_adapters.packet_ring import PacketRing
from streetwarden.detectors import CameraEngine
from streetwarden.models.detections import Detections
from streetwarden.pipeline.health import CameraHealth
from streetwarden.pipeline.motion_gate import MotionGate, thumbnail
from streetwarden.pipeline.stream_bytes import StreamBytesTest
from streetwarden.store.evidence import save_preview
from streetwarden.config import CameraConfig, ConfigError, Settings, ZoneConfig
from streetwarden.logs import event
from streetwarden.redact import mask_all, mask_url, register_secret

log = logging.getLogger("streetwarden.worker")


class CameraRunner:
    """Owns a camera's source (opened, read and re-opened in its own thread) and its engine.

    File sources block when the queue is full (every analysed frame is processed, results are
    reproducible); live sources drop the oldest frame instead, so analysis never falls behind.
    """

    def __init__(self, settings: Settings, cam: CameraConfig, zones: list[ZoneConfig], wake: threading.Condition,
                 queue_size: int | None = None, retry_max: float = 60.0, engine: CameraEngine | None = None,
                 prepare: Callable[[Any], Any] | None = None, decode_pool: DecodePool | None = None) -> None:
        self.cam = cam
        self.decode_pool = decode_pool  # the worker's key-frame decoders (keyframe-only RTSP); None: this reader decodes
        self.prepare = prepare  # model pre-processing, done here so it overlaps the model call
        self.source_url = settings.camera_source(cam)
        self.live = "://" in self.source_url
        self.engine = engine or CameraEngine(cam.id, zones, live=self.live, tracker=settings.tracker, dedupe=settings.dedupe,
                                              masks=cam.masks)
        self.health = SourceHealth()
        # nothing moved: skip the model (decided by the worker loop in frame order)
        self.gate = MotionGate(settings.gating, zones, cam.masks) if settings.gating.enabled else None
        self.last_dets: Detections | None = None  # what a skipped frame carries forward
        self.config_error: str | None = None
        self.options = live_options(cam, self.source_url) if self.live else None
        # keyframe-only RTSP: small inter frames may skip the key frame's decode too (learned per camera)
        self.stream_bytes = (StreamBytesTest(settings.gating, self.gate)
                             if self.gate is not None and settings.gating.stream_bytes and self.options is not None
                             and self.options.keyframe_only else None)
        if self.live:
            try:
                self.options.password = cam.password()  # type: ignore[union-attr]
            except ConfigError as err:
                self.config_error = str(err)
            register_secret(self.options.password)  # type: ignore[union-attr]
        self.record = CameraHealth(cam.id, self.health, name=cam.name, source=mask_url(cam.source), live=self.live,
                                   keyframe_only=self.options.keyframe_only if self.options else None,
                                   transport=self.options.transport if self.options and cam.source.lower().startswith("rtsp") else None)
        self.record.view = lambda: self.engine.view_health()  # steady / shaking, from the left-behind engine
        self.zones_version = 0
        self.queue: deque[Frame] = deque()
        # live: one waiting frame, the newest, so what the model sees is fresh and an overloaded
        # worker analyses fewer frames rather than older ones
        # files: enough read ahead to fill parallel model calls while the reader competes for the cores
        self.queue_size = queue_size or (1 if self.live else 16)
        self.retry_max = retry_max
        self.ended = False
        self.fenced = False  # its lease is gone: stopped, its frames and events are not used
        self.source: FrameSource | None = None
        self._wake = wake
        self.storage_path = settings.storage_path
        self.snapshot_every = settings.server.snapshot_seconds
        # evidence clips: RTSP keeps a packet ring (capped by seconds and bytes); files cut from the file
        self.clips = settings.clips
        rtsp = self.source_url.lower().startswith(("rtsp://", "rtsps://"))
        self.ring = (PacketRing(self.clips.ring_seconds, int(self.clips.max_ring_megabytes * 1_000_000))
                     if self.clips.enabled and rtsp else None)
        self.cutter = None  # the open source's clip cutter; None: clips off or no video (snapshots)
        self._snapshot_at = -float("inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cam-{cam.id}", daemon=True)

    def open(self) -> FrameSource:
        if self.config_error:
            raise SourceError(self.config_error)
        source = open_source(self.cam.id, self.source_url, self.cam.analysis_fps, self.options)
        source.health = self.health
        if self.ring is not None and hasattr(source, "ring"):
            source.ring = self.ring
        if self.stream_bytes is not None and hasattr(source, "decode_needed"):
            source.decode_needed = self.stream_bytes.decode_needed
        self.cutter = source.clip_cutter() if self.clips.enabled else None
        if self.live:
            source.wants_frame = lambda: len(self.queue) < self.queue_size
        if self.decode_pool is not None and hasattr(source, "decode_pool"):
            source.decode_pool, source.deliver = self.decode_pool, self._deliver
        self.source = source
        return source

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.source is not None:
            self.source.close()
        with self._wake:
            self._wake.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _put(self, frame: Frame) -> None:
        with self._wake:
            if self.live:
                while len(self.queue) >= self.queue_size:
                    self.queue.popleft()  # drop the oldest: never fall behind a live camera
                    self.health.frames_dropped += 1
            else:
                while len(self.queue) >= self.queue_size and not self._stop.is_set():
                    self._wake.wait(0.5)
            self.queue.append(frame)
            self._wake.notify_all()

    def _snapshot(self, frame: Frame) -> None:
        """Keep the camera's latest frame (storage/snapshots/<camera>.jpg) for the cameras page and
        zone editor; encoded here, in the camera's thread, so the model loop never waits on JPEG."""
        at = time.monotonic()
        if self.snapshot_every <= 0 or at - self._snapshot_at < self.snapshot_every:
            return
        self._snapshot_at = at
        try:
            save_preview(self.storage_path, f"snapshots/{self.cam.id}.jpg", frame.image, quality=80)
        except OSError as err:  # a full disk must not stop the camera
            event(log, "snapshot_failed", logging.WARNING, camera=self.cam.id, error=str(err))

    def _handle(self, frame: Frame) -> None:
        """Prepare a frame for the model and queue it (in the reader's thread, or the decode pool's)."""
        if frame.decoded:  # an undecoded frame skips the model: nothing to prepare or compare
            if self.prepare is not None:
                frame.prepared = self.prepare(frame.image)
            if self.gate is not None:
                frame.motion = thumbnail(frame.image, self.gate.config.thumbnail_width)
        self._put(frame)
        if frame.decoded:  # after the hand-over: the JPEG is not on the frame's way to the model
            self._snapshot(frame)

    def _deliver(self, frame: Frame) -> None:
        """A picture from the decode pool. A failure here is this camera's, logged, never the pool's."""
        if self._stop.is_set():
            return
        try:
            self._handle(frame)
        except Exception as err:
            event(log, "camera_error", logging.WARNING, camera=self.cam.id, reason=mask_all(str(err)), attempt=0)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                source = self.source or self.open()
                for frame in source.frames():
                    if self._stop.is_set():
                        break
                    attempt = 0
                    self._handle(frame)
                if not self.live or self._stop.is_set():
                    break
                raise SourceError("stream ended")
            except Exception as err:  # a dead camera never takes the worker down
                reason = mask_all(str(err))
                self.health.set("error" if attempt == 0 else "reconnecting", reason)
                event(log, "camera_error", logging.WARNING, camera=self.cam.id, reason=reason, attempt=attempt)
                if self.source is not None:
                    self.source.close()
                    self.source = None
                if not self.live or self.config_error:
                    break
                attempt += 1
                self.health.reconnects += 1
                delay = min(self.retry_max, 2 ** min(attempt, 8)) * random.uniform(0.5, 1.0)
                self._stop.wait(delay)
        # the ring keeps its packets: a clip asked for just before the stream ended (or the worker
        # stopped) is still cut from them; the worker frees the rings once its clip writer has finished
        with self._wake:
            self.ended = True
            self._wake.notify_all()


def live_options(cam: CameraConfig, source_url: str) -> LiveOptions:
    """The adapter options of a live camera's configuration (the password is added by the caller)."""
    _, user_in_url, password_in_url = split_credentials(source_url)
    register_secret(password_in_url)
    return LiveOptions(
        transport=cam.rtsp_transport,
        keyframe_only=cam.decode_keyframes_only,
        fast_decode=cam.fast_decode,
        read_batch=cam.read_batch_seconds,
        hw_decode=cam.hw_decode,
        hw_decode_fallback=cam.hw_decode_fallback,
        timeout=cam.timeout_seconds,
        reconnect_max=cam.reconnect_max_seconds,
        offline_after=max(60.0, 3 * cam.timeout_seconds),
        username=cam.username,
        http_auth=cam.http_auth,
        secrets=tuple(s for s in (password_in_url,) if s),
    )
