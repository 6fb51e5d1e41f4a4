"""SQLite is the one-machine default: a second `streetwarden worker` (or a live `streetwarden run`,
which is a node like any other) on the same SQLite database is refused with one line saying
PostgreSQL is needed (no silent double work); the first runs on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import REPO, shared_path
from tests.postgres import _free_port
from tests.waiting import wait_for


def config(tmp: Path, name: str, port: int) -> Path:
    cfg = {"database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
           "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
           "cluster": {"lease_seconds": 6, "heartbeat_seconds": 1, "health_port": port},
           "cameras": [{"id": "west-gate", "source": f"loop://{shared_path('media', 'vtest.avi')}", "analysis_fps": 0.5}]}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def ready(port: int) -> dict | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


@pytest.mark.parametrize("second_command", ["worker", "run"])
def test_a_second_worker_on_sqlite_is_refused_with_one_line(tmp_path: Path, second_command: str) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "streetwarden", "worker", "--config"]
    first = subprocess.Popen(cmd + [str(config(tmp_path, "one", port))], cwd=REPO, env=dict(os.environ, STREETWARDEN_NODE_ID="one"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = wait_for(lambda: ready(port) if (ready(port) or {}).get("cameras") else None, 90, 0.5)
        assert body and body["cameras"] == ["west-gate"] and body["node"] == "one"
        second_cmd = [sys.executable, "-m", "streetwarden", second_command, "--config"]
        second = subprocess.run(second_cmd + [str(config(tmp_path, "two", 0))], cwd=REPO, capture_output=True, text=True,
                                timeout=120, env=dict(os.environ, STREETWARDEN_NODE_ID="two"))
        assert second.returncode == 2
        lines = [ln for ln in second.stderr.splitlines() if ln.startswith("streetwarden: error:")]
        assert len(lines) == 1 and "PostgreSQL" in lines[0] and "one" in lines[0], second.stderr[-2000:]
        assert "Traceback" not in second.stderr
        assert ready(port)["cameras"] == ["west-gate"]  # the first worker runs on, untouched
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err[-2000:]
