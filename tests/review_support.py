"""Helpers for the review API tests: a real uvicorn server on a free port, accounts, and candidates
seeded either by the real pipeline on vtest.avi or through the store with evidence cut from real
frames of that clip."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import uvicorn

from streetwarden.store.db import Database
from streetwarden.store.evidence import crop_with_margin, render, save_image
from streetwarden.store.schema import Candidate, Evidence
from streetwarden.config import Settings, parse_settings

PASSWORD = "correct-horse-42"
ROLES = {"rev1": "reviewer", "rev2": "reviewer", "rev3": "reviewer", "sup": "supervisor", "adm": "admin",
         "case-system": "integration"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp: Path, vtest: Path, **server: object) -> Settings:
    data = {
        "database": f"sqlite:///{tmp / 'sw.db'}",
        "storage": str(tmp / "storage"),
        "server": {"claim_seconds": 60, "undo_seconds": 0, **server},
        "cameras": [{
            "id": "west-gate", "name": "西门", "source": str(vtest), "analysis_fps": 2, "address": "示例路 1 号",
            "zones": [
                {"id": "walk-1", "name": "西门人行道", "kind": "sidewalk", "dwell_seconds": 30,
                 "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]},
                {"id": "walk-2", "name": "东人行道", "kind": "sidewalk", "dwell_seconds": 10,
                 "polygon": [[0.955, 0.08], [1.0, 0.08], [1.0, 0.18], [0.955, 0.18]]},
            ],
        }],
    }
    return parse_settings(data, origin="test", base_dir=tmp)


def add_users(db: Database) -> None:
    from streetwarden.api.users.service import create_user

    with db.session() as s:
        for name, role in ROLES.items():
            create_user(s, name, role, PASSWORD)


def real_frames(vtest: Path, count: int = 6) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(vtest))
    frames = []
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 795
    for i in range(count):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i * total / count))
        ok, frame = cap.read()
        assert ok, f"cannot read frame {i} of {vtest}"
        frames.append(frame)
    cap.release()
    return frames


def seed_candidates(db: Database, storage: Path, frames: list[np.ndarray], n: int, *, camera: str = "west-gate",
                    violation: str = "sidewalk_parking", zone: str = "walk-1", dumping_pair: bool = False,
                    t0: float = 1_700_000_000.0) -> list[int]:
    """n pending candidates with frame + crop evidence cut from real frames (one JPEG pair shared per frame)."""
    from streetwarden.detectors.events import EvidenceImage

    box = np.array([651.7, 42.0, 724.9, 99.4], np.float32)
    files = []
    for i, frame in enumerate(frames):
        f = save_image(storage, f"evidence/seed/frame-{i}.jpg", render(EvidenceImage("frame", frame, 0.0, box)))
        c = save_image(storage, f"evidence/seed/crop-{i}.jpg", crop_with_margin(frame, box))
        files.append((f, c))
    ids = []
    with db.session() as s:
        for k in range(n):
            t = t0 + k * 60
            row = Candidate(camera_id=camera, zone_id=zone, violation=violation, label="truck", score=0.5 + (k % 40) / 100,
                            box=[float(v) for v in box], frame_width=768, frame_height=576, first_seen=t,
                            last_seen=t + 45, live=True, active=False, status="pending",
                            dedupe_key=f"{camera}/{zone}/{violation}/seed{k}", incident=f"seed-{k}", attributes={})
            s.add(row)
            s.flush()
            (fp, fd, fw, fh), (cp, cd, cw, ch) = files[k % len(files)]
            s.add(Evidence(candidate_id=row.id, kind="frame", path=fp, sha256=fd, width=fw, height=fh, ts=t))
            s.add(Evidence(candidate_id=row.id, kind="crop", path=cp, sha256=cd, width=cw, height=ch, ts=t))
            if dumping_pair:
                (bp, bd, bw, bh), _ = files[0]
                (ap, ad, aw, ah), _ = files[-1]
                s.add(Evidence(candidate_id=row.id, kind="before", path=bp, sha256=bd, width=bw, height=bh, ts=t - 60))
                s.add(Evidence(candidate_id=row.id, kind="after", path=ap, sha256=ad, width=aw, height=ah, ts=t))
            ids.append(row.id)
    return ids


class LiveServer:
    """The real app under uvicorn in a thread, on a free localhost port."""

    def __init__(self, settings: Settings, db: Database, worker=None, secret: str = "test-secret-0123456789") -> None:  # type: ignore[no-untyped-def]
        from streetwarden.api.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, db, worker=worker, secret=secret)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, user: str | None = None) -> httpx.Client:
        """A client authenticated with a bearer token of `user` (or anonymous)."""
        c = httpx.Client(base_url=self.url, timeout=30)
        if user:
            r = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return c

    def browser(self, user: str) -> tuple[httpx.Client, str]:
        """A client logged in with the session cookie; returns it and the CSRF token."""
        c = httpx.Client(base_url=self.url, timeout=30)
        r = c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return c, r.json()["csrf_token"]


@contextmanager
def worker_and_server(settings: Settings, reload_seconds: float = 0.3) -> Iterator[tuple[LiveServer, Database, object]]:
    """A migrated database with the test accounts, a real worker running the cameras in a thread
    (reloading zones and masks every `reload_seconds`), and the app serving with it: (server, db, worker)."""
    from streetwarden.pipeline.worker import Worker

    db = Database(settings.database_url)
    db.upgrade()
    add_users(db)
    worker = Worker(settings, db, reload_seconds=reload_seconds)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        with LiveServer(settings, db, worker=worker) as server:
            yield server, db, worker
    finally:
        worker.stop()
        thread.join(20)
