"""Shared test fixtures. Real models and footage are read from ../shared (or $STREETWARDEN_SHARED);
if they are missing the tests fail loudly rather than skip."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREETWARDEN_SHARED", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"test data missing: {path} (lay ../shared beside the checkout or set STREETWARDEN_SHARED)")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_path()


@pytest.fixture(scope="session", autouse=True)
def _models_env() -> None:
    os.environ.setdefault("STREETWARDEN_MODELS", str(shared_path("models")))


@pytest.fixture(scope="session")
def yolox_path() -> Path:
    return shared_path("models", "yolox_nano_coco_416.onnx")


@pytest.fixture(scope="session")
def yolov8_path() -> Path:
    return shared_path("models", "yolov8n_coco_int8_640.onnx")


@pytest.fixture(scope="session")
def vtest_path() -> Path:
    return shared_path("media", "vtest.avi")


@pytest.fixture(scope="session")
def yolox(yolox_path: Path):
    from streetwarden.models import OnnxDetector

    return OnnxDetector(yolox_path)


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a real PostgreSQL server started for this test session."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """An empty database on each backend: a SQLite file, and a fresh database on the session's real
    PostgreSQL server (so code that must be portable is run on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sw.db'}"
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("postgres_url")
    name = f"sw_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


# ---------------------------------------------------------------- live cameras (RTSP server, clips)
@pytest.fixture(scope="session")
def rtsp_media(tmp_path_factory, vtest_path: Path) -> dict[str, Path]:
    """vtest.avi as RTSP-ready files, encoded once per session (ffmpeg/libx264, libx265):
    main: 768x576 10 fps H.264, key frame every 10 frames, looped 4x (5 min);
    sub: the same at 384x288 (a camera's sub-stream); h265: 12 s of H.265."""
    from tests.rtsp_server import transcode

    out = tmp_path_factory.mktemp("rtsp-media")
    return {
        "main": transcode(vtest_path, out / "main.mp4", gop=10, loops=4),
        "sub": transcode(vtest_path, out / "sub.mp4", width=384, height=288, gop=10, loops=4),
        "h265": transcode(vtest_path, out / "h265.mp4", width=384, height=288, gop=10, codec="libx265", seconds=12),
    }
