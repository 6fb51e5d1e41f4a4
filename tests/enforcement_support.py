"""Helpers of the notice / case / webhook tests: settings, real candidates with real evidence, a real
HTTP webhook receiver, and a FastAPI app with the enforcement routers (only auth is stood in)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from streetwarden.detectors.events import CandidateEvent, EvidenceImage
from streetwarden.store.cameras import sync_cameras
from streetwarden.store.candidates import CandidateWriter
from streetwarden.store.db import Database
from streetwarden.store.shops import sync_shops
from streetwarden.config import parse_settings

SECRET = "test-webhook-secret-0123456789"
ZONES = [
    {"id": "walk-1", "kind": "sidewalk", "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]},
    {"id": "front-1", "kind": "shopfront", "shop_id": "noodles", "polygon": [[0.0, 0.7], [0.4, 0.7], [0.4, 1.0], [0.0, 1.0]]},
    {"id": "grass-1", "kind": "no_dumping", "polygon": [[0.0, 0.75], [0.35, 0.75], [0.35, 1.0], [0.0, 1.0]]},
]


def make_settings(root: Path, source: str = "unused.avi", **over):
    data = {
        "database": f"sqlite:///{root / 'sw.db'}", "storage": str(root / "data"),
        "server": {"undo_seconds": 0},  # decisions take effect at once (tests/test_review_desk_e2e.py tests the window)
        "cameras": [{"id": "west-gate", "source": source, "address": "示例路 1 号西门", "latitude": 31.2304,
                     "longitude": 121.4737, "zones": ZONES}],
        "shops": [{"id": "noodles", "name": "兰州拉面", "address": "示例路 3 号", "contact": "王先生 13800000000"}],
    }
    data.update(over)
    return parse_settings(data, base_dir=root)


def open_db(settings) -> Database:
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        sync_cameras(s, settings)
        sync_shops(s, settings)
    return db


def vtest_frame(vtest: Path, index: int = 300) -> np.ndarray:
    cap = cv2.VideoCapture(str(vtest))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of {vtest}"
    return image


def raise_candidate(db: Database, settings, frame: np.ndarray, *, zone_id: str = "walk-1",
                    violation: str = "sidewalk_parking", label: str = "truck",
                    box: tuple[float, float, float, float] = (651, 42, 724, 99), ts: float = 30.0, incident: str | None = None) -> int:
    """A candidate written the way the worker writes one, with real evidence files."""
    b = np.array(box, np.float32)
    ev = CandidateEvent("open", incident or f"inc-{zone_id}-{ts}-{box[0]}", "west-gate", zone_id, violation, label, 0.8, b,
                        ts - 40.0, ts, False, (frame.shape[1], frame.shape[0]),
                        [EvidenceImage("frame", frame, ts, b), EvidenceImage("crop", frame, ts, b, crop=True),
                         EvidenceImage("first", frame, ts - 40.0, b)])
    writer = CandidateWriter(settings.storage_path, window_seconds=0.0)
    with db.session() as s:
        row, _ = writer.apply(s, ev)
        return row.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A real HTTP webhook receiver on localhost: verifies the HMAC, records every POST."""

    def __init__(self, port: int, secret: str = SECRET, fail_with: int | None = None) -> None:
        self.port, self.secret, self.fail_with = port, secret.encode(), fail_with
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = "sha256=" + hmac.new(outer.secret, body, hashlib.sha256).hexdigest()
                sig_ok = hmac.compare_digest(expected, self.headers.get("X-StreetWarden-Signature", ""))
                key = self.headers.get("Idempotency-Key")
                with outer.lock:
                    duplicate = any(p["key"] == key and p["accepted"] for p in outer.posts)
                    code = 401 if not sig_ok else (outer.fail_with or 200)
                    outer.posts.append({"key": key, "event": self.headers.get("X-StreetWarden-Event"),
                                        "attempt": int(self.headers.get("X-StreetWarden-Attempt", "0")),
                                        "sig_ok": sig_ok, "accepted": code == 200 and not duplicate,
                                        "duplicate": duplicate, "body": json.loads(body)})
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def accepted(self) -> list[dict]:
        with self.lock:
            return [p for p in self.posts if p["accepted"]]


def make_app(settings, db: Database, role: str = "integration", username: str = "case-system"):
    """A real FastAPI app with the enforcement and integration routers; only the auth is overridden."""
    from types import SimpleNamespace

    from fastapi import FastAPI

    from streetwarden.api.deps import current_user
    from streetwarden.api.enforcement.views import router as enforcement
    from streetwarden.api.integration.views import router as integration

    app = FastAPI()
    app.state.ctx = SimpleNamespace(db=db, settings=settings)
    app.include_router(integration)
    app.include_router(enforcement)
    app.state.principal = SimpleNamespace(username=username, role=role, user_id=0)
    app.dependency_overrides[current_user] = lambda: app.state.principal
    return app
