"""The wheel is the product: build it, check it carries every stage under `streetwarden.` (and no
generic top-level name such as `models`), install it into a fresh venv outside the checkout and
serve a real deployment from it. Takes a minute or two; needs PyPI for pip's build isolation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import REPO, shared_path
from tests.review_support import free_port
from tests.waiting import wait_for

STAGES = ("camera_adapters", "models", "detectors", "pipeline", "store", "api", "review_ui", "datasets")
DATA = {"models": ("cards",), "store": ("migrations",), "review_ui": ("static", "templates")}
ADMIN_PW = "wheel-admin-password-42"
# what a build leaves in a checkout; copied along it could put stale modules into the wheel
BUILD_LEFTOVERS = (".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "var", "test-artifacts", ".venv")


def expected_files() -> set[str]:
    """Wheel paths of every module of the kernel and the stages, and every data file they ship."""
    out = {f"streetwarden/{p.relative_to(REPO / 'streetwarden').as_posix()}"
           for p in (REPO / "streetwarden").rglob("*.py") if "__pycache__" not in p.parts}
    for stage in STAGES:
        root = REPO / stage
        files = [p for p in root.rglob("*.py")]
        for sub in DATA.get(stage, ()):
            files += [p for p in (root / sub).rglob("*") if p.is_file()] if (root / sub).is_dir() else []
        out |= {f"streetwarden/{stage}/{p.relative_to(root).as_posix()}" for p in files
                if "__pycache__" not in p.parts and p.suffix != ".pyc"}
    return out


def build_wheel(tmp: Path) -> Path:
    src = tmp / "checkout"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
    out = tmp / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stdout}\n{r.stderr}"
    wheels = list(out.glob("streetwarden-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def venv_with(wheel: Path, where: Path) -> Path:
    """A fresh venv (dependencies from the system site) with only the wheel installed into it."""
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                        "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could point Python back at a checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, **extra}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_holds_every_stage_and_serves_from_a_fresh_venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    assert REPO not in tmp.parents
    wheel = build_wheel(tmp)

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        top_level = zf.read(info).decode().split()
    missing = sorted(expected_files() - names)
    assert not missing, f"{len(missing)} files missing from {wheel.name}: {missing[:20]}"
    assert top_level == ["streetwarden"], top_level
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"streetwarden", info.split("/", 1)[0]}, tops
    assert not tops & set(STAGES)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    venv = venv_with(wheel, tmp / "venv")
    run_dir = tmp / "deploy"
    run_dir.mkdir()
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import streetwarden, streetwarden.api.app as a, streetwarden.models as m; "
                            "print(streetwarden.__file__); print(a.__file__); print(m.__file__)"],
                           cwd=run_dir, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    for loaded in probe.stdout.split():
        assert Path(loaded).resolve().is_relative_to(venv.resolve()), (loaded, "imported from outside the venv")

    config = run_dir / "streetwarden.yaml"
    config.write_text(yaml.safe_dump({
        "database": "sqlite:///streetwarden.db", "storage": "./data",
        "models": {"default": {"path": str(shared_path("models", "yolox_nano_coco_416.onnx"))}},
        "cameras": [{"id": "west-gate", "source": str(shared_path("media", "vtest.avi")), "analysis_fps": 1,
                     "zones": [{"id": "walk-1", "kind": "sidewalk",
                                "polygon": [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}]}],
    }), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = run_dir / "serve.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([str(venv / "bin" / "streetwarden"), "serve", "--config", str(config), "--port", str(port)],
                                cwd=run_dir, env=clean_env(STREETWARDEN_ADMIN_PASSWORD=ADMIN_PW), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            def healthy() -> dict | None:
                assert proc.poll() is None, log_path.read_text()
                try:
                    return httpx.get(url + "/healthz", timeout=5).json()
                except httpx.TransportError:
                    return None

            health = wait_for(healthy, timeout=180, step=0.5)
            assert health == {"status": "ok", "database": "ok", "worker": "running"}, (health, log_path.read_text())
            anon = httpx.Client(base_url=url, timeout=30)
            page = anon.get("/login")
            assert page.status_code == 200 and "<html" in page.text.lower() and "login.js" in page.text
            for asset in ("/static/login.js", "/static/style.css", "/static/i18n.js"):
                r = anon.get(asset)
                assert r.status_code == 200 and len(r.content) > 100, (asset, r.status_code)
            browser = httpx.Client(base_url=url, timeout=30)
            assert browser.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PW}).status_code == 200
            queue = browser.get("/", follow_redirects=True)
            assert queue.status_code == 200 and str(queue.url).endswith("/queue") and "queue.js" in queue.text
            assert browser.get("/static/queue.js").status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait(10)
    text = log_path.read_text()
    assert rc == 0, f"serve exited with {rc} on SIGTERM:\n{text}"
    assert "Traceback" not in text and '"event": "stopped"' in text, text
    assert str(REPO) not in text  # nothing of the checkout was used
