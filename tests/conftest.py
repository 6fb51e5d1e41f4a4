"""Shared test fixtures. Real models and footage are read from ../shared (or $STREETWARDEN_SHARED);
if they are missing the tests fail loudly rather than skip."""

from __future__ import annotations

import os
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
    from models import OnnxDetector

    return OnnxDetector(yolox_path)


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a real PostgreSQL server started for this test session."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    url = server.start()
    yield url
    server.stop()
