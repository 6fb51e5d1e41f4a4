"""Live camera adapters against real servers: gst-rtsp-server (H.264/H.265, TCP/UDP, basic auth),
a TCP 'black hole', and a stdlib HTTP server with basic/digest auth serving real JPEGs."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwarden.camera_adapters import LiveOptions, open_source
from streetwarden.camera_adapters.http_snapshot import HttpSnapshotSource
from streetwarden.camera_adapters.live import (Backoff, RateGate, ReadPacer, StreamClock, phase_of, split_credentials,
                                              with_credentials)
from streetwarden.camera_adapters.packet_ring import PacketRing
from streetwarden.camera_adapters.rtsp import RtspSource, configure_decoder
from tests.rtsp_server import BlackHoleServer, RtspServer, free_port
from tests.waiting import wait_for

PASSWORD = "Pa55-w0rd!x"


def collect(source, seconds: float, stop_when=None) -> list:  # type: ignore[no-untyped-def]
    """Frames a source yields within `seconds` (read in a thread, like the worker does)."""
    frames: list = []
    done = threading.Event()

    def read() -> None:
        for f in source.frames():
            frames.append(f)
            if done.is_set() or (stop_when and stop_when(frames)):
                break
        done.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    done.wait(seconds)
    done.set()
    source.close()
    t.join(20)
    assert not t.is_alive(), "the adapter did not stop after close()"
    return frames


@pytest.fixture(scope="module")
def rtsp(rtsp_media):  # type: ignore[no-untyped-def]
    with RtspServer({"/main": rtsp_media["main"], "/h265": rtsp_media["h265"]}, user="viewer", password=PASSWORD) as srv:
        yield srv


# ---------------------------------------------------------------- pure helpers
def test_backoff_doubles_with_jitter_and_caps() -> None:
    b = Backoff(1.0, 8.0)
    delays = [b.next_delay() for _ in range(6)]
    for d, base in zip(delays, [1, 2, 4, 8, 8, 8]):
        assert base / 2 <= d <= base
    b.reset()
    assert b.next_delay() <= 1.0


def test_credentials_are_percent_encoded_and_split_back() -> None:
    url = with_credentials("rtsp://cam.local:554/Streaming/101", "admin", "p@ss:w/rd")
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd@cam.local:554/Streaming/101"
    assert split_credentials(url) == ("rtsp://cam.local:554/Streaming/101", "admin", "p@ss:w/rd")


def test_stream_clock_shows_a_reader_falling_behind() -> None:
    clock = StreamClock()
    t0 = 1_000_000.0
    # in time for 10 s: capture time == arrival
    for i in range(10):
        assert clock.capture_time(float(i), t0 + i) == pytest.approx(t0 + i)
    # then each packet arrives 0.5 s later than the one before: lag grows, is not hidden
    ts = clock.capture_time(20.0, t0 + 25.0)
    assert t0 + 25.0 - ts == pytest.approx(5.0, abs=0.05)
    # a jump of the camera clock re-anchors instead of reporting an hour of lag
    assert clock.capture_time(5000.0, t0 + 26.0) == pytest.approx(t0 + 26.0)


def test_rate_gate_keeps_one_frame_per_interval() -> None:
    gate = RateGate(2.0)
    taken = []
    for i in range(2500):  # 25 fps for 100 s
        ts = i / 25
        if gate.due(ts):
            gate.taken(ts)
            taken.append(ts)
    assert len(taken) in (200, 201)  # 2 fps over the long run, not drifting
    assert np.all(np.diff(taken) >= 0.44)


def test_rate_gate_phases_spread_cameras_whose_key_frames_come_together() -> None:
    """48 cameras started together, key frames in the same instant every second, analysed at 0.5 fps:
    each camera still gets one frame per 2 s, but they are split over both key frames of the step."""
    t0 = 1_700_000_000.3
    picks: dict[str, list[float]] = {}
    for cam in (f"cam{i}" for i in range(48)):
        gate, taken = RateGate(0.5, phase_of(cam)), []
        for k in range(60):  # 60 s of key frames, once a second
            ts = t0 + k + 0.001 * (hash(cam) % 7)  # a few ms of network jitter
            if gate.due(ts):
                gate.taken(ts)
                taken.append(ts)
        assert len(taken) in (29, 30, 31)
        assert np.all(np.diff(taken) > 1.5)  # never two frames one key frame apart
        picks[cam] = taken
    even = sum(round(p[0] - t0) % 2 == 0 for p in picks.values())
    assert 12 <= even <= 36, even  # a burst of 48 decodes per 2 s would be one group of 48
    assert phase_of("cam7") == phase_of("cam7")  # fixed by the id: no worker coordinates it


def test_rate_gate_finds_its_grid_again_after_a_gap() -> None:
    gate = RateGate(1.0, 0.25)
    taken = []
    for ts in [100.0 + i / 25 for i in range(250)] + [140.0 + i / 25 for i in range(250)]:  # 30 s gap
        if gate.due(ts):
            gate.taken(ts)
            taken.append(ts)
    assert np.all(np.diff(taken) >= 0.88)
    # the first frame after the gap is taken at once (the freshest picture), then the gate is back on
    # its grid k + 0.25 (within the tolerance), as before the gap
    assert taken[10] == 140.0
    assert all(abs((t - 0.25) - round(t - 0.25)) <= 0.1 + 1e-6 for t in taken[:10] + taken[11:]), taken
    assert len([t for t in taken if t >= 140]) in (9, 10)


# ---------------------------------------------------------------- RTSP
def test_hw_decode_that_cannot_start_is_a_camera_error_or_falls_back_to_the_cpu(rtsp: RtspServer, caplog) -> None:
    """hw_decode: cuda on a machine without an NVIDIA GPU: the camera is reported (state error, what to
    install) and retried, never a worker crash; with hw_decode_fallback the frames come, decoded on
    the CPU, with one hw_decode_fallback warning per connection. On a GPU machine frames come either way."""
    url = rtsp.url("/main", "viewer", PASSWORD)
    gpu = Path("/dev/nvidiactl").exists()
    strict = RtspSource("cam", url, 1.0, LiveOptions(timeout=5, reconnect_min=0.5, reconnect_max=1, hw_decode="cuda"))
    frames = collect(strict, 5, stop_when=lambda fr: len(fr) >= 2)
    if gpu:
        assert len(frames) >= 2 and frames[0].image.shape == (576, 768, 3)
    else:
        assert frames == []
        assert strict.health.state == "error"
        assert "hardware decoding (cuda) cannot start" in strict.health.reason
        assert "hw_decode: none" in strict.health.reason and PASSWORD not in strict.health.reason
        assert strict.health.reconnects >= 2  # retried, with back-off
    caplog.set_level(logging.WARNING, logger="streetwarden.camera")
    lenient = RtspSource("cam2", url, 1.0, LiveOptions(timeout=5, hw_decode="cuda", hw_decode_fallback=True))
    frames = collect(lenient, 30, stop_when=lambda fr: len(fr) >= 2)
    assert len(frames) >= 2 and frames[0].image.shape == (576, 768, 3)
    assert lenient.health.state == "online"
    fallbacks = [r for r in caplog.records if "hw_decode_fallback" in r.getMessage()]
    assert len(fallbacks) == (0 if gpu else 1)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


def test_rtsp_keyframe_only_decodes_only_the_frames_it_yields(rtsp: RtspServer) -> None:
    src = open_source("cam", rtsp.url("/main", "viewer", PASSWORD), 2.0, LiveOptions(keyframe_only=True, timeout=5))
    assert isinstance(src, RtspSource)
    started = time.time()
    frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 6)
    assert len(frames) >= 6
    assert all(f.live and f.image.shape == (576, 768, 3) for f in frames)
    gaps = np.diff([f.ts for f in frames[1:]])
    # key frames come once a second (GOP 10 at 10 fps): asked for 2 fps, it can give 1
    assert np.all(np.abs(gaps - 1.0) < 0.05), gaps
    assert started - 5 < frames[-1].ts <= time.time() + 1  # Unix time of capture (during this test), not stream time
    assert src.health.frames_in >= 30  # every packet was read off the network ...
    assert src.decoded == len(frames)  # ... but only the yielded key frames were decoded
    assert src.health.state == "online" and src.codec == "h264"


def test_read_pacer_pauses_only_once_caught_up() -> None:
    """A reader behind its camera (each packet read long after its capture) reads on without a pause,
    so pacing can never make it fall further behind; once a packet comes in fresh, it pauses before
    the next read, once."""
    closed = threading.Event()
    pacer = ReadPacer(0.01, closed, caught_up=0.02, settle=2.0)
    # (lag, read at): fresh packets in the first 2 s of the session are read on, while the clock settles
    reads = [(0.001, 0.0), (0.01, 1.9), (0.9, 2.0), (0.5, 2.1), (0.3, 2.2), (0.1, 2.3), (0.05, 2.4), (0.01, 2.5),
             (0.3, 2.6), (0.2, 2.7), (0.001, 2.8), (0.5, 2.9)]
    seen = []
    for packet in pacer.packets(iter(range(len(reads)))):
        seen.append(packet)
        pacer.note(*reads[packet])
    assert seen == list(range(len(reads)))  # nothing skipped, in order
    assert pacer.pauses == 2  # after the 0.01 at 2.5 s and the 0.001 at 2.8 s, never after a late packet
    closed.set()  # a closed camera stops at its pause instead of reading on
    pacer.note(0.0, 10.0)
    assert list(pacer.packets(iter([1, 2, 3]))) == [1]


def test_rtsp_over_tcp_reads_in_bursts_without_losing_a_packet_or_its_capture_time(rtsp: RtspServer) -> None:
    """read_batch: the reader sleeps once caught up and reads what arrived meanwhile in one go. Every
    packet still reaches the clip ring with its capture time from the stream (a tenth of a second
    apart at 10 fps, not bunched at the burst's read time), key frames still come once a second,
    and it pauses at most once per interval (after the clock's first seconds)."""
    src = RtspSource("cam", rtsp.url("/main", "viewer", PASSWORD), 1.0,
                     LiveOptions(keyframe_only=True, timeout=5, read_batch=0.3))
    ring = src.ring = PacketRing(seconds=60, max_bytes=50_000_000)
    started = time.monotonic()
    frames = collect(src, 30, stop_when=lambda fr: len(fr) >= 5)
    elapsed = time.monotonic() - started
    assert len(frames) >= 5
    assert np.all(np.abs(np.diff([f.ts for f in frames[1:]]) - 1.0) < 0.05)
    assert 0 < src.read_pauses <= elapsed / 0.3 + 1
    window = ring.window(0, time.time() + 60)
    assert window is not None
    packets = window.packets
    assert len(packets) >= 40 and packets[0].key
    timed = [p for p in packets if p.pts is not None]
    assert len(timed) >= len(packets) - 1  # (RTSP's first packet may come before its timestamps)
    pts = np.array([p.pts for p in timed], np.int64)
    assert np.all(np.diff(pts) == pts[1] - pts[0])  # none missing, none twice, in order
    # (the server sends what it holds in one go at connect: those first capture times come out bunched
    # with or without bursts; from the third second on, the reader pauses and reads in bursts)
    gaps = np.diff([p.ts for p in timed[30:]])
    assert len(gaps) >= 10 and np.all(np.abs(gaps - 0.1) < 0.03), gaps
    assert src.health.frames_in >= len(packets)


def test_rtsp_reads_each_packet_as_it_comes_without_read_batch_and_over_udp(rtsp: RtspServer) -> None:
    url = rtsp.url("/main", "viewer", PASSWORD)
    for options in (LiveOptions(keyframe_only=True, timeout=5, read_batch=0),
                    LiveOptions(keyframe_only=True, timeout=5, transport="udp")):
        src = RtspSource("cam", url, 1.0, options)
        assert src.pacer() is None
        frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 2)
        assert len(frames) >= 2 and src.read_pauses == 0
    assert RtspSource("cam", url, 1.0, LiveOptions(timeout=5)).pacer() is not None  # the default over tcp


def test_rtsp_full_decode_decodes_every_frame(rtsp: RtspServer) -> None:
    src = RtspSource("cam", rtsp.url("/main", "viewer", PASSWORD), 2.0, LiveOptions(keyframe_only=False, timeout=5))
    frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 6)
    assert len(frames) >= 6
    assert src.decoded >= src.health.frames_in - 2 and src.decoded > 3 * len(frames)


def test_fast_decode_skips_the_deblocking_filter(rtsp: RtspServer, rtsp_media) -> None:  # type: ignore[no-untyped-def]
    """fast_decode changes the decoder (the same key frame comes out slightly different, no
    deblocking) but not the picture's content; an RTSP camera with it still streams."""
    import av

    def first_keyframe(fast: bool) -> np.ndarray:
        with av.open(str(rtsp_media["main"])) as container:
            stream = container.streams.video[0]
            configure_decoder(stream.codec_context, True, fast)
            for packet in container.demux(stream):
                if packet.size and packet.is_keyframe:
                    for frame in stream.codec_context.decode(packet):
                        return frame.to_ndarray(format="bgr24")
        raise AssertionError("no key frame decoded")

    plain, fast = first_keyframe(False), first_keyframe(True)
    assert plain.shape == fast.shape
    diff = np.abs(plain.astype(np.int16) - fast).mean()
    assert 0.05 < diff < 4, diff
    src = RtspSource("cam", rtsp.url("/main", "viewer", PASSWORD), 1.0, LiveOptions(keyframe_only=True, fast_decode=True, timeout=5))
    frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 2)
    assert len(frames) >= 2 and frames[0].image.shape == (576, 768, 3)


def test_rtsp_over_udp(rtsp: RtspServer) -> None:
    src = RtspSource("cam", rtsp.url("/main", "viewer", PASSWORD), 1.0, LiveOptions(transport="udp", timeout=5))
    frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 3)
    assert len(frames) >= 3 and frames[0].image.shape == (576, 768, 3)


def test_rtsp_h265(rtsp: RtspServer) -> None:
    src = RtspSource("cam", rtsp.url("/h265", "viewer", PASSWORD), 1.0, LiveOptions(timeout=5))
    frames = collect(src, 20, stop_when=lambda fr: len(fr) >= 3)
    assert len(frames) >= 3 and frames[0].image.shape == (288, 384, 3)
    assert src.codec == "hevc"


@pytest.mark.parametrize("case", ["wrong_password", "no_password", "wrong_path", "refused", "black_hole"])
def test_rtsp_failures_explained_retried_and_masked(rtsp: RtspServer, case: str) -> None:
    hole = BlackHoleServer()
    try:
        url, state, words = {
            "wrong_password": (rtsp.url("/main", "viewer", "Wr0ng-" + PASSWORD), "error", "authentication failed"),
            "no_password": (rtsp.url("/main"), "error", "authentication failed"),
            "wrong_path": (rtsp.url("/nope", "viewer", PASSWORD), "error", "stream not found"),
            "refused": (f"rtsp://viewer:{PASSWORD}@127.0.0.1:{free_port()}/main", "offline", "connection refused"),
            "black_hole": (hole.url(auth=f"viewer:{PASSWORD}@"), "offline", "no answer"),
        }[case]
        src = RtspSource("cam", url, 1.0, LiveOptions(timeout=2, reconnect_min=0.5, reconnect_max=2))
        frames = collect(src, 6.5)
        assert frames == []
        assert src.health.state == state
        assert words in src.health.reason
        assert PASSWORD not in src.health.reason and "Wr0ng" not in src.health.reason
        assert PASSWORD not in src.describe()
        # retried with back-off: a few attempts in 6.5 s, not a busy loop
        lo, hi = (1, 3) if case == "black_hole" else (3, 8)
        assert lo <= src.health.reconnects <= hi, src.health.reconnects
        if case == "black_hole":
            assert hole.accepted >= 2
    finally:
        hole.close()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_camera_that_freezes_mid_stream_is_reconnected(rtsp_media, transport: str) -> None:
    """A camera whose stream stops while the connection stays open (the server process frozen with
    SIGSTOP): the socket read times out, the camera is 'reconnecting' with the reason, and it comes
    back by itself when the camera does."""
    import os
    import signal

    with RtspServer({"/main": rtsp_media["main"]}) as srv:
        src = RtspSource("cam", srv.url("/main"), 1.0, LiveOptions(transport=transport, timeout=3, reconnect_min=0.5, reconnect_max=1))
        frames: list = []
        reader = threading.Thread(target=lambda: [frames.append(f) for f in src.frames()], daemon=True)
        reader.start()
        try:
            assert wait_for(lambda: len(frames) >= 2, 20), src.health.reason
            os.kill(srv.pid, signal.SIGSTOP)
            try:
                # data already in the socket buffers keeps coming for ~3 s (measured), then the read
                # times out after 3 s of silence (how long that takes on a busy machine is not the point)
                assert wait_for(lambda: src.health.state == "reconnecting", 60), (src.health.state, src.health.reason)
                assert "no video" in src.health.reason or "closed" in src.health.reason or "cannot read" in src.health.reason
                count = len(frames)
            finally:
                os.kill(srv.pid, signal.SIGCONT)
            assert wait_for(lambda: src.health.state == "online" and len(frames) > count, 20), src.health.reason
            assert reader.is_alive()
        finally:
            src.close()
            reader.join(15)
        assert not reader.is_alive()


# ---------------------------------------------------------------- HTTP snapshots
class SnapshotHandler(BaseHTTPRequestHandler):
    jpeg: bytes = b""
    mode = "basic"
    user, password, realm, nonce = "viewer", PASSWORD, "cam", secrets.token_hex(8)
    hits = 0

    def log_message(self, *args: object) -> None:
        pass

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if self.mode == "basic":
            import base64

            return header == "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if not header.startswith("Digest "):
            return False
        f = dict(re.findall(r'(\w+)="?([^",]+)"?', header[7:]))
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731 - RFC 2617
        ha1 = md5(f"{f.get('username')}:{self.realm}:{self.password}")
        ha2 = md5(f"GET:{f.get('uri')}")
        expect = md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}")
        return f.get("username") == self.user and f.get("nonce") == self.nonce and f.get("response") == expect

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        if self.path != "/snapshot.jpg":
            self.send_error(404)
            return
        if not self._authorized():
            self.send_response(401)
            challenge = (f'Basic realm="{self.realm}"' if self.mode == "basic"
                         else f'Digest realm="{self.realm}", nonce="{self.nonce}", qop="auth", algorithm=MD5')
            self.send_header("WWW-Authenticate", challenge)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.jpeg)))
        self.end_headers()
        self.wfile.write(self.jpeg)


@pytest.fixture(params=["basic", "digest"])
def snapshot_server(request, vtest_path: Path):  # type: ignore[no-untyped-def]
    cap = cv2.VideoCapture(str(vtest_path))
    ok, image = cap.read()
    cap.release()
    assert ok
    handler = type("Handler", (SnapshotHandler,), {"jpeg": cv2.imencode(".jpg", image)[1].tobytes(), "mode": request.param, "hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_http_snapshots_with_basic_and_digest_auth(snapshot_server) -> None:  # type: ignore[no-untyped-def]
    base, handler = snapshot_server
    src = open_source("snap", f"{base}/snapshot.jpg", 4.0, LiveOptions(username="viewer", password=PASSWORD, timeout=3))
    assert isinstance(src, HttpSnapshotSource)
    started = time.monotonic()
    frames = collect(src, 15, stop_when=lambda fr: len(fr) >= 6)
    elapsed = time.monotonic() - started
    assert len(frames) >= 6 and frames[0].image.shape == (576, 768, 3) and frames[0].live
    assert elapsed >= 1.1  # polled at 4 fps, not as fast as possible
    assert src.health.state == "online"


@pytest.mark.parametrize("case", ["wrong_password", "wrong_path", "black_hole"])
def test_http_snapshot_failures(snapshot_server, case: str) -> None:  # type: ignore[no-untyped-def]
    base, handler = snapshot_server
    hole = BlackHoleServer()
    try:
        url, password, state, words = {
            "wrong_password": (f"{base}/snapshot.jpg", "nope-" + PASSWORD, "error", "authentication failed"),
            "wrong_path": (f"{base}/x.jpg", PASSWORD, "error", "not found"),
            "black_hole": (hole.url("/snapshot.jpg", scheme="http"), PASSWORD, "offline", "no answer"),
        }[case]
        src = HttpSnapshotSource("snap", url.replace("://", f"://viewer:{password}@"), 1.0,
                                 LiveOptions(timeout=1.5, reconnect_min=0.5, reconnect_max=2))
        # a black hole costs a full timeout per attempt: give it time for two attempts even on a busy machine
        assert collect(src, 9.0 if case == "black_hole" else 4.5) == []
        assert src.health.state == state and words in src.health.reason
        assert PASSWORD not in src.health.reason and PASSWORD not in src.describe()
        assert src.health.reconnects >= 2
    finally:
        hole.close()


def test_a_cameras_read_batch_seconds_reaches_its_reader() -> None:
    from streetwarden.camera_adapters.live import DEFAULT_READ_BATCH_SECONDS
    from streetwarden.config import CameraConfig
    from streetwarden.pipeline.camera_runner import live_options

    url = "rtsp://10.0.3.21:554/Streaming/Channels/102"
    assert live_options(CameraConfig(id="a", source=url, read_batch_seconds=0.5), url).read_batch == 0.5
    assert live_options(CameraConfig(id="b", source=url, read_batch_seconds=0), url).read_batch == 0
    assert live_options(CameraConfig(id="c", source=url), url).read_batch == DEFAULT_READ_BATCH_SECONDS > 0


# ---------------------------------------------------------------- decode pool
def read_until(source, done, timeout: float = 25.0) -> list:  # type: ignore[no-untyped-def]
    """Run a source's reader in a thread until `done()` (or the timeout), close it, and return what
    its frames() yielded (with a decode pool: only undecoded frames)."""
    frames: list = []
    t = threading.Thread(target=lambda: frames.extend(source.frames()), daemon=True)
    t.start()
    wait_for(done, timeout)
    source.close()
    t.join(20)
    assert not t.is_alive(), "the adapter did not stop after close()"
    return frames


def test_key_frames_decode_on_the_pool_in_order_and_none_after_close(rtsp: RtspServer) -> None:
    """With a decode pool the reader only receives: every picture comes from the pool's thread, in
    capture order, and a key frame still queued when the camera closes is never decoded (its codec
    context is gone: decoding it would crash the process)."""
    from streetwarden.camera_adapters.decode_pool import DecodePool

    pool = DecodePool(1)
    got: list[tuple[str, float]] = []
    src = RtspSource("cam", rtsp.url("/main", "viewer", PASSWORD), 2.0, LiveOptions(keyframe_only=True, timeout=5))
    src.decode_pool, src.deliver = pool, lambda f: got.append((threading.current_thread().name, f.ts))
    yielded = read_until(src, lambda: len(got) >= 4)
    assert len(got) >= 4 and not [f for f in yielded if f.decoded], "pictures came from the reader, not the pool"
    assert {name for name, _ in got} == {"cam-decode-0"}
    times = [ts for _, ts in got]
    assert times == sorted(times) and len(set(times)) == len(times)

    # a queued key frame of a camera that closes meanwhile: the pool's only thread is held busy
    busy, release = threading.Event(), threading.Event()
    pool.submit(lambda: (busy.set(), release.wait(30)))
    assert busy.wait(10)
    src2 = RtspSource("cam2", rtsp.url("/main", "viewer", PASSWORD), 2.0, LiveOptions(keyframe_only=True, timeout=5))
    late: list[float] = []
    src2.decode_pool, src2.deliver = pool, lambda f: late.append(f.ts)
    read_until(src2, lambda: pool.pending() >= 1)  # its first key frame waits in the pool
    assert pool.pending() >= 1, "the camera's key frame never reached the pool"
    release.set()
    pool.close()
    assert late == [] and src2.decoded == 0


# first_mb_in_slice 0, slice_type 7 (I), pic_parameter_set_id 100 (exp-Golomb), then filler bits
BAD_SLICE_HEADER = int("1" + "0001000" + "0000001100101" + "111", 2).to_bytes(3, "big")


def scramble_key_frames(src: Path, dst: Path, after: float) -> Path:
    """A copy of an H.264 MP4 whose IDR slices after `after` seconds are garbage (the NAL headers and
    lengths kept), as a camera with a failing encoder or a corrupting link sends them. Each names a
    picture parameter set that does not exist, so the real decoder refuses every one of them (random
    bytes alone now and then parse as a slice and decode to a concealed picture)."""
    import random

    import av

    rnd = random.Random(17)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            if packet.is_keyframe and packet.pts * stream.time_base >= after:
                data, body, i = bytes(packet), bytearray(), 0
                while i + 4 <= len(data):  # length-prefixed NAL units (avcC)
                    size = int.from_bytes(data[i:i + 4], "big")
                    nal = data[i + 4:i + 4 + size]
                    if nal and nal[0] & 0x1F == 5 and size > 4:  # an IDR slice: its header names a PPS the
                        nal = nal[:1] + BAD_SLICE_HEADER + rnd.randbytes(size - 4)  # stream never sent, the rest noise
                    body += size.to_bytes(4, "big") + nal
                    i += 4 + size
                bad = av.Packet(bytes(body))
                bad.pts, bad.dts, bad.time_base, bad.is_keyframe = packet.pts, packet.dts, packet.time_base, True
                packet = bad
            packet.stream = copy
            out.mux(packet)
    return dst


@pytest.mark.parametrize("pooled", [True, False], ids=["decode-pool", "reader-decodes"])
def test_undecodable_key_frames_in_a_row_end_the_session_and_it_reconnects(
        pooled: bool, vtest_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose key frames stop decoding is not a camera to keep reading in silence: after too
    many undecodable key frames in a row the session ends with a reason the operator can act on, and
    the adapter reconnects (the good pictures before are still delivered). The limit is lowered so
    the test need not wait for a hundred of them."""
    from streetwarden.camera_adapters import rtsp as rtsp_module
    from streetwarden.camera_adapters.decode_pool import DecodePool
    from tests.rtsp_server import transcode

    monkeypatch.setattr(rtsp_module, "MAX_CONSECUTIVE_DECODE_ERRORS", 4)
    clean = transcode(vtest_path, tmp_path / "clean.mp4", width=320, height=240, gop=1, seconds=14)
    bad = scramble_key_frames(clean, tmp_path / "bad.mp4", after=2.0)
    reasons: list[str] = []
    got: list[float] = []
    with RtspServer({"/bad": bad}) as server:
        src = RtspSource("cam", server.url("/bad"), 5.0, LiveOptions(keyframe_only=True, timeout=5, reconnect_min=0.2,
                                                                      reconnect_max=0.5))
        pool = DecodePool(1) if pooled else None
        if pool is not None:
            src.decode_pool, src.deliver = pool, lambda f: got.append(f.ts)

        def ended() -> bool:
            if src.health.reason and src.health.reason not in reasons:
                reasons.append(src.health.reason)
            return any("undecodable" in r for r in reasons) and src.health.reconnects >= 1

        yielded = read_until(src, ended)
        if pool is not None:
            pool.close()
    assert any("undecodable frames in a row" in r for r in reasons), (reasons, src.health, len(got), len(yielded))
    assert src.health.reconnects >= 1 and src.health.decode_errors > 4
    pictures = got if pooled else [f.ts for f in yielded if f.decoded]
    assert pictures, "the good key frames before the corruption were not delivered"
