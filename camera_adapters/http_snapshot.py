"""Cameras that only serve still pictures: poll a JPEG snapshot URL at the analysis rate.

Authentication is HTTP basic or digest (``auto`` answers whichever the camera asks for); the
credentials come from the URL's user:password@ or the camera's username/password_env and are
never sent in the URL itself.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator

import cv2
import httpx
import numpy as np

from streetwarden.camera_adapters.base import SourceError
from streetwarden.camera_adapters.frame import Frame
from streetwarden.camera_adapters.live import LiveOptions, LiveSource, split_credentials


class AutoAuth(httpx.Auth):
    """Basic or digest, whichever the camera's 401 challenge names (remembered afterwards)."""

    def __init__(self, username: str, password: str, mode: str = "auto") -> None:
        self.basic = httpx.BasicAuth(username, password)
        self.digest = httpx.DigestAuth(username, password)
        self.mode = mode

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.mode == "basic":
            yield from self.basic.auth_flow(request)
            return
        if self.mode == "digest":
            yield from self.digest.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenges = [h.lower() for h in response.headers.get_list("www-authenticate")]
        if any(c.startswith("digest") for c in challenges):
            self.mode = "digest"
            flow = self.digest.auth_flow(request)
            next(flow)  # DigestAuth first sends the bare request; we already have its 401
            try:
                retry = flow.send(response)
                yield retry
            except StopIteration:
                return
        elif any(c.startswith("basic") for c in challenges):
            self.mode = "basic"
            yield from self.basic.auth_flow(request)


class HttpSnapshotSource(LiveSource):
    """Polls ``GET url`` once per 1/analysis_fps seconds; each JPEG/PNG answer is a frame."""

    def __init__(self, camera_id: str, url: str, analysis_fps: float, options: LiveOptions | None = None) -> None:
        super().__init__(camera_id, url, analysis_fps, options)
        self.request_url, user, password = split_credentials(self.url)
        if self.options.http_auth not in ("auto", "basic", "digest"):
            raise SourceError(f"camera {camera_id}: http_auth must be auto, basic or digest, got {self.options.http_auth!r}")
        self.auth = AutoAuth(user or "", password or "", self.options.http_auth) if user or password else None
        self.index = 0

    def _session(self) -> Iterator[Frame]:
        step = 1.0 / self.analysis_fps
        t = self.options.timeout
        with httpx.Client(auth=self.auth, timeout=httpx.Timeout(t, connect=t), follow_redirects=True) as client:
            while not self._closed.is_set():
                started = time.monotonic()
                response = client.get(self.request_url)
                if response.status_code >= 400:
                    raise HttpStatusError(response.status_code, response.reason_phrase)
                now = time.time()
                self.health.frames_in += 1
                self.health.last_frame_at = now
                image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    self.health.decode_errors += 1
                    kind = response.headers.get("content-type", "?")
                    raise SourceError(f"the snapshot is not a picture (content-type {kind}, {len(response.content)} bytes)")
                self._mark_online()
                self.health.frames_analysed += 1
                self.index += 1
                yield Frame(self.camera_id, now, image, self.index, live=True)
                self._closed.wait(max(0.0, step - (time.monotonic() - started)))

    def _explain(self, err: BaseException, elapsed: float) -> tuple[str, str]:
        where = f"{self.host}:{self.port}" if self.port else self.host
        if isinstance(err, HttpStatusError):
            if err.status == 401:
                return "error", "authentication failed (401 Unauthorized): check the camera's username and password"
            if err.status == 403:
                return "error", "access denied (403 Forbidden): this user may not fetch snapshots"
            if err.status == 404:
                return "error", "snapshot not found (404 Not Found): check the path in the camera URL"
            return ("offline" if err.status >= 500 else "error"), f"the camera answered HTTP {err.status} {err.reason}"
        if isinstance(err, httpx.TimeoutException):
            return "offline", f"no answer from {where} within {self.options.timeout:g} s"
        if isinstance(err, httpx.ConnectError):
            return "offline", f"cannot connect to {where}: {self.mask(str(err))}"
        if isinstance(err, SourceError):
            return "error", self.mask(str(err))
        return "offline", f"snapshot request to {where} failed: {type(err).__name__}: {self.mask(str(err))}"


class HttpStatusError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status, self.reason = status, reason


def grab_snapshot(url: str, options: LiveOptions) -> np.ndarray:
    """One picture from a snapshot URL (the evidence picture of a camera whose main stream is HTTP)."""
    from streetwarden.camera_adapters.live import with_credentials

    bare, user, password = split_credentials(with_credentials(url, options.username, options.password))
    auth = AutoAuth(user or "", password or "", options.http_auth) if user or password else None
    response = httpx.get(bare, auth=auth, timeout=options.timeout, follow_redirects=True)
    if response.status_code >= 400:
        raise SourceError(f"snapshot request answered HTTP {response.status_code} {response.reason_phrase}")
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError("the snapshot is not a picture")
    return image
