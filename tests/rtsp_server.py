"""A real RTSP server for tests and benchmarks: GStreamer's gst-rtsp-server in a subprocess.

python3-gi is a Debian package, installed for Debian's Python (/usr/bin/python3), not for the
interpreter that runs the tests, so the server runs as ``/usr/bin/python3 tests/rtsp_server.py``
(the ``serve`` function below) and this module's classes start, kill and restart it. The server
streams pre-encoded H.264/H.265 files at their real rate (no re-encoding, so it costs little CPU);
``transcode`` makes such files from ../shared/media/vtest.avi with ffmpeg/libx264.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

SYSTEM_PYTHON = os.environ.get("STREETWARDEN_GI_PYTHON", "/usr/bin/python3")
HERE = Path(__file__).resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def transcode(src: Path, dst: Path, *, width: int | None = None, height: int | None = None, fps: float | None = None,
              gop: int = 10, loops: int = 1, codec: str = "libx264", bitrate: str | None = None, crf: int = 28,
              noise: int = 0, seconds: float | None = None) -> Path:
    """Encode `src` to an RTSP-friendly MP4 (no B-frames, fixed GOP), repeated `loops` times.

    The file is encoded once and then concatenated by stream copy, so a long looping stream costs
    one encode. ``noise`` adds temporal noise (like a real sensor) so P-frames carry real residuals.
    """
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg not found: install the Debian package ffmpeg (scripts/install-test-deps.sh)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    once = dst.with_name(dst.stem + ".once.mp4")
    filters = []
    if width and height:
        filters.append(f"scale={width}:{height}")
    if fps:
        filters.append(f"fps={fps}")
    if noise:
        filters.append(f"noise=alls={noise}:allf=t")
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-an"]
    if seconds:
        cmd += ["-t", str(seconds)]
    if filters:
        cmd += ["-vf", ",".join(filters)]
    cmd += ["-c:v", codec, "-preset", "veryfast", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-bf", "0", "-pix_fmt", "yuv420p"]
    if codec == "libx265":
        cmd += ["-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:log-level=error", "-tag:v", "hvc1"]
    cmd += ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else ["-crf", str(crf)]
    subprocess.run(cmd + [str(once)], check=True)
    if loops > 1:
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", str(loops - 1),
                        "-i", str(once), "-c", "copy", str(dst)], check=True)
        once.unlink()
    else:
        once.replace(dst)
    return dst


class RtspServer:
    """gst-rtsp-server serving files on mounts (``{"/cam": path}``), optionally behind basic auth.

    ``kill()`` ends it abruptly (SIGKILL, like a camera losing power); ``start()`` brings it back on
    the same port.
    """

    def __init__(self, mounts: dict[str, Path], port: int | None = None, user: str | None = None,
                 password: str | None = None, host: str = "127.0.0.1") -> None:
        self.mounts = {m if m.startswith("/") else "/" + m: Path(p) for m, p in mounts.items()}
        self.port = port or free_port()
        self.user, self.password, self.host = user, password, host
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, mount: str = "/cam", user: str | None = None, password: str | None = None) -> str:
        mount = mount if mount.startswith("/") else "/" + mount
        auth = ""
        if user is not None:
            auth = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "") + "@"
        return f"rtsp://{auth}{self.host}:{self.port}{mount}"

    def start(self, timeout: float = 20.0) -> "RtspServer":
        if shutil.which(SYSTEM_PYTHON) is None and not Path(SYSTEM_PYTHON).exists():
            raise RuntimeError(f"{SYSTEM_PYTHON} not found (python3-gi runs under Debian's Python)")
        cmd = [SYSTEM_PYTHON, str(HERE), "--port", str(self.port), "--host", self.host]
        for mount, path in self.mounts.items():
            cmd += ["--mount", f"{mount}={path}"]
        env = dict(os.environ)
        if self.user is not None:
            env["RTSP_TEST_USER"], env["RTSP_TEST_PASSWORD"] = self.user, self.password or ""
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(b"READY") or not line:
                break
        if not line.startswith(b"READY"):
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None and self.proc.stderr else ""
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {err.strip()[-2000:]}")
        # drain the pipes so a chatty server never blocks on a full pipe
        for pipe in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=lambda p=pipe: [None for _ in iter(p.readline, b"")], daemon=True).start()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    stop = kill

    def __enter__(self) -> "RtspServer":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.kill()


class BlackHoleServer:
    """A TCP server that accepts connections and never answers (a hung camera)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._conns.append(conn)  # held open, never read from nor written to

    def url(self, path: str = "/cam", scheme: str = "rtsp", auth: str = "") -> str:
        return f"{scheme}://{auth}{self.host}:{self.port}{path}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for c in self._conns:
            c.close()
        self.sock.close()


# ------------------------------------------------------------------ the server process (system python)
def serve(argv: list[str]) -> None:
    import argparse

    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--mount", action="append", default=[], help="/path=file.mp4")
    args = p.parse_args(argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    user, password = os.environ.get("RTSP_TEST_USER"), os.environ.get("RTSP_TEST_PASSWORD", "")
    permissions = None
    if user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
    for spec in args.mount:
        mount, path = spec.split("=", 1)
        caps = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
                               "-of", "csv=p=0", path], capture_output=True, text=True).stdout.strip()
        codec = "h265" if caps in ("hevc", "h265") else "h264"
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( filesrc location=\"{path}\" ! qtdemux ! {codec}parse config-interval=-1 "
                           f"! rtp{codec}pay name=pay0 pt=96 config-interval=-1 )")
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        mounts.add_factory(mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"READY {args.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    GLib.MainLoop().run()


if __name__ == "__main__":
    serve(sys.argv[1:])
