"""Helpers of the model registry tests: the `streetwarden` CLI in a subprocess whose model store is the
deployment's own (not the read-only shared folder), and registry rows read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from streetwarden.store.audit import AuditEntry
from streetwarden.store.db import Database
from tests.conftest import REPO, shared_path

YOLOX = "yolox_nano_coco_416.onnx"
YOLOV8 = "yolov8n_coco_int8_640.onnx"


def cli_env() -> dict[str, str]:
    """The CLI's environment: registered files go to `<storage>/models`, not $STREETWARDEN_MODELS."""
    env = {k: v for k, v in os.environ.items() if k != "STREETWARDEN_MODELS"}
    env["PYTHONPATH"] = str(REPO)
    return env


def sw(config: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streetwarden", *args, "--config", str(config)], cwd=REPO,
                          env=cli_env(), capture_output=True, text=True, timeout=timeout)


def ok(config: Path, *args: str) -> str:
    r = sw(config, *args)
    assert r.returncode == 0, (args, r.stderr[-3000:])
    return r.stdout


def error_lines(r: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return [ln for ln in r.stderr.splitlines() if ln.startswith("streetwarden: error:")]


def model_file(name: str) -> str:
    return str(shared_path("models", name))


def audit_moves(db: Database) -> list[tuple[str, str, str | None, dict]]:
    """(action, model, actor, details) of every model.* audit entry, in order."""
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("model.%")).order_by(AuditEntry.id)).all()
        return [(r.action, r.target_id, r.actor, r.details) for r in rows]
