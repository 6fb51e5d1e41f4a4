"""A real HTTP file server on 127.0.0.1 for the model-download tests: serves bytes under file names,
answers Range requests (206), and has knobs to misbehave: cut the connection after N bytes, or
serve other bytes (a truncated or changed file)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    range: str | None
    if_range: str | None


@dataclass
class Knobs:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # next response: close the connection after this many body bytes (once)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    knobs: Knobs

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        k = self.knobs
        with k.lock:
            k.requests.append(Request(self.path, self.headers.get("Range"), self.headers.get("If-Range")))
            data = k.files.get(self.path.lstrip("/"))
            cut, k.cut_after = k.cut_after, None
        if data is None:
            self.send_error(404, "Not Found")
            return
        etag = f'"{hash(data) & 0xFFFFFFFF:x}-{len(data)}"'
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and self.headers.get("If-Range") in (None, etag):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class ModelServer:
    """`with ModelServer({"yolox_nano.onnx": data}) as srv: srv.url` — stopped on exit."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.knobs = Knobs(files=dict(files))
        handler = type("Handler", (_Handler,), {"knobs": self.knobs})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="model-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "ModelServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
