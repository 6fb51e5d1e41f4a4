"""Models on a fresh machine: `streetwarden models fetch/import/list` against a real HTTP server on
127.0.0.1 serving the real YOLOX-Nano file, and the CLI run as a subprocess with no
$STREETWARDEN_MODELS, the way a city installs it."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, shared_path
from tests.model_server import ModelServer

NAME = "yolox_nano_coco_416.onnx"
ASSET = "yolox_nano.onnx"  # the release asset's file name, which a mirror serves


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("STREETWARDEN_MODELS", "STREETWARDEN_MODEL_MIRROR")}
    return subprocess.run([sys.executable, "-m", "streetwarden.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**base, "PYTHONPATH": str(REPO), "no_proxy": _no_proxy(base), **env}, timeout=300)


def _no_proxy(env: dict[str, str]) -> str:
    """The test server is local: never send its requests to a proxy the machine may have set."""
    return ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The user-facing error lines (stderr also carries progress and JSON log lines)."""
    return [line for line in result.stderr.splitlines() if line.startswith("streetwarden: error:")]


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    return lines[0]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def yolox_bytes() -> bytes:
    return shared_path("models", NAME).read_bytes()


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """A fresh working folder: with no config the model store is ./data/models."""
    return tmp_path


def store_of(home: Path) -> Path:
    return home / "data" / "models"


def pin_card(store: Path, url: str, sha256: str, size: int) -> None:
    """A deployment's own card in the store, pinning sha256 and size (it wins over the shipped one)."""
    store.mkdir(parents=True, exist_ok=True)
    (store / "yolox_nano_coco_416.yaml").write_text(yaml.safe_dump({
        "file": NAME, "family": "yolox", "input_size": 416, "classes": "coco80", "licence": "Apache-2.0",
        "download": {"url": url, "sha256": sha256, "size": size}}))


def leftovers(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir() if p.name != ".lock") if store.exists() else []


def index(store: Path) -> dict:
    return json.loads((store / "index.json").read_text())["models"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_pinned_file_then_detect_from_the_store(home, yolox_bytes, monkeypatch):
    with ModelServer({ASSET: yolox_bytes}) as srv:
        pin_card(store_of(home), f"{srv.url}/{ASSET}", sha(yolox_bytes), len(yolox_bytes))
        result = cli("models", "fetch", NAME, cwd=home)
    assert result.returncode == 0, result.stderr
    stored = store_of(home) / NAME
    assert sha(stored.read_bytes()) == sha(yolox_bytes)
    assert index(store_of(home))[NAME]["trust"] == "pinned"
    assert not list(store_of(home).glob("*.part*"))
    assert "downloading yolox_nano_coco_416.onnx: 3.7/3.7 MB" in result.stderr  # progress with rate
    assert "MB/s" in result.stderr

    from streetwarden.models import OnnxDetector

    det = OnnxDetector(stored)
    assert det.family.name == "yolox" and det.input_size == 416

    monkeypatch.delenv("STREETWARDEN_MODELS", raising=False)
    found = cli("detect", str(shared_path("media", "bus.jpg")), "--model", NAME, "--json", cwd=home)
    assert found.returncode == 0, found.stderr
    labels = [d["label"] for d in json.loads(found.stdout)["detections"]]
    assert "bus" in labels and labels.count("person") >= 3


def test_truncated_file_is_refused_and_nothing_is_stored(home, yolox_bytes):
    with ModelServer({ASSET: yolox_bytes[: len(yolox_bytes) // 2]}) as srv:
        pin_card(store_of(home), f"{srv.url}/{ASSET}", sha(yolox_bytes), len(yolox_bytes))
        line = one_error(cli("models", "fetch", NAME, cwd=home))
    assert "refused" in line and f"the card says {len(yolox_bytes)}" in line
    assert leftovers(store_of(home)) == ["yolox_nano_coco_416.yaml"]  # no model, no .part, no index entry


def test_wrong_hash_is_refused(home, yolox_bytes):
    with ModelServer({ASSET: yolox_bytes}) as srv:
        pin_card(store_of(home), f"{srv.url}/{ASSET}", "0" * 64, len(yolox_bytes))
        line = one_error(cli("models", "fetch", NAME, cwd=home))
    assert "refused" in line and sha(yolox_bytes) in line and "0" * 64 in line
    assert leftovers(store_of(home)) == ["yolox_nano_coco_416.yaml"]


def test_server_down_is_one_line_without_traceback(home):
    mirror = f"http://127.0.0.1:{closed_port()}"
    line = one_error(cli("models", "fetch", NAME, "--mirror", mirror, cwd=home))
    assert f"cannot download {mirror}/{ASSET}" in line and "models import" in line
    assert not (store_of(home) / NAME).exists()


def test_resume_after_a_cut_sends_range_and_completes(home, yolox_bytes):
    cut = 1_000_000
    with ModelServer({ASSET: yolox_bytes}) as srv:
        srv.knobs.cut_after = cut
        first = cli("models", "fetch", NAME, cwd=home, STREETWARDEN_MODEL_MIRROR=srv.url)  # mirror from the environment
        line = one_error(first)
        assert f"interrupted at {cut} of {len(yolox_bytes)} bytes" in line and "again to resume" in line
        assert not (store_of(home) / NAME).exists()
        assert (store_of(home) / (NAME + ".part")).stat().st_size == cut
        second = cli("models", "fetch", NAME, cwd=home, STREETWARDEN_MODEL_MIRROR=srv.url)
        requests = list(srv.knobs.requests)
    assert second.returncode == 0, second.stderr
    assert [r.range for r in requests] == [None, f"bytes={cut}-"]
    assert requests[1].if_range  # a changed file would be sent whole, not spliced onto old bytes
    assert f"resumed an interrupted download at byte {cut}" in second.stdout
    assert sha((store_of(home) / NAME).read_bytes()) == sha(yolox_bytes)
    assert not list(store_of(home).glob("*.part*"))


def test_unpinned_card_trusts_first_download_and_refuses_a_changed_file(tmp_path, yolox_bytes):
    store = tmp_path / "city-models"
    changed = bytearray(yolox_bytes)
    changed[len(changed) // 2] ^= 0xFF
    with ModelServer({ASSET: yolox_bytes}) as srv:
        config = tmp_path / "sw.yaml"  # mirror and store from the config file
        config.write_text(yaml.safe_dump({"model_store": {"path": "city-models", "mirror": srv.url + "/"}}))
        first = cli("models", "fetch", "default", "--config", str(config), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "cannot pin this file's sha256" in first.stdout and "first download is trusted" in first.stdout
        assert "matches the copy StreetWarden is tested with" in first.stdout
        assert index(store)[NAME]["trust"] == "first-use" and index(store)[NAME]["sha256"] == sha(yolox_bytes)

        (store / NAME).unlink()  # e.g. a new disk: fetch again, but the source now serves other bytes
        srv.knobs.files[ASSET] = bytes(changed)
        line = one_error(cli("models", "fetch", NAME, "--config", str(config), cwd=tmp_path))
        assert "trust on first use" in line and sha(bytes(changed)) in line and sha(yolox_bytes) in line
        assert not (store / NAME).exists() and index(store)[NAME]["sha256"] == sha(yolox_bytes)

        srv.knobs.files[ASSET] = yolox_bytes  # the original again: accepted, as recorded
        again = cli("models", "fetch", NAME, "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert sha((store / NAME).read_bytes()) == sha(yolox_bytes)
    present = cli("models", "fetch", NAME, "--config", str(config), cwd=tmp_path)  # server gone: checks the copy
    assert present.returncode == 0 and "already in the store" in present.stdout and "matches the recorded" in present.stdout


def test_import_checks_the_file_against_its_card(home, tmp_path, monkeypatch):
    good = cli("models", "import", str(shared_path("models", NAME)), cwd=home)
    assert good.returncode == 0, good.stderr
    assert "imported yolox_nano_coco_416.onnx (yolox, input 416" in good.stdout
    rec = index(store_of(home))[NAME]
    assert rec["trust"] == "imported" and rec["sha256"] == sha(shared_path("models", NAME).read_bytes())

    wrong = one_error(cli("models", "import", str(shared_path("models", "yolov8n_coco_int8_640.onnx")),
                          "--name", "yolox_nano_coco_416", "--replace", cwd=home))
    assert "ultralytics model" in wrong and "says yolox" in wrong and "--name" in wrong
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all\n" * 100)
    line = one_error(cli("models", "import", str(junk), cwd=home))
    assert "not a loadable ONNX model" in line
    assert sorted(p.name for p in store_of(home).glob("*.onnx")) == [NAME]  # neither got in
    assert sha((store_of(home) / NAME).read_bytes()) == rec["sha256"]

    custom = tmp_path / "incoming" / "vendor_v2.onnx"  # a city's own model with its card beside it
    custom.parent.mkdir()
    custom.write_bytes(shared_path("models", "yolov8n_coco_int8_640.onnx").read_bytes())
    custom.with_suffix(".yaml").write_text(yaml.safe_dump({"family": "ultralytics", "input_size": 640,
                                                           "classes": ["person", "stall"] + ["x"] * 78}))
    ok = cli("models", "import", str(custom), cwd=home)
    assert ok.returncode == 0, ok.stderr
    assert (store_of(home) / "vendor_v2.yaml").read_text() == custom.with_suffix(".yaml").read_text()
    monkeypatch.delenv("STREETWARDEN_MODELS", raising=False)
    from streetwarden.config import parse_settings
    from streetwarden.models import OnnxDetector

    settings = parse_settings({"models": {"default": {"path": "vendor_v2.onnx"}}}, base_dir=home)
    assert settings.model_path("default") == store_of(home) / "vendor_v2.onnx"
    assert OnnxDetector(settings.model_path("default")).labels[1] == "stall"  # the copied card is used


def test_list_json_shows_present_and_absent(home, tmp_path):
    config = tmp_path / "sw.yaml"
    config.write_text(yaml.safe_dump({"storage": "data", "models": {
        "default": {"path": NAME}, "plates": {"path": "yolov8n_coco_int8_640.onnx"}}}))
    assert cli("models", "import", str(shared_path("models", NAME)), "--config", str(config), cwd=home).returncode == 0
    result = cli("models", "list", "--config", str(config), "--json", cwd=home)
    assert result.returncode == 1  # a configured model is missing
    out = json.loads(result.stdout)
    assert out["store"] == str(tmp_path / "data" / "models")
    by_name = {m["name"]: m for m in out["models"]}
    here, absent = by_name[NAME], by_name["yolov8n_coco_int8_640.onnx"]
    assert here["present"] and here["found_in"] == "model store" and here["config_keys"] == ["default"]
    assert here["sha256"] == sha(shared_path("models", NAME).read_bytes()) and here["verified"] is True
    assert here["tested_copy"] is True and here["trust"] == "imported"
    assert (here["family"], here["input_size"], here["labels"]["count"]) == ("yolox", 416, 80)
    assert here["labels"]["first"][:3] == ["person", "bicycle", "car"] and here["licence"] == "Apache-2.0"
    assert here["download"].startswith("https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/")
    assert not absent["present"] and absent["path"] is None and absent["sha256"] is None
    assert (absent["family"], absent["input_size"]) == ("ultralytics", 640)  # from its card

    env_dir = shared_path("models")  # $STREETWARDEN_MODELS stays an override (scripts/start.sh sets it)
    both = json.loads(cli("models", "list", "--config", str(config), "--json", cwd=home,
                          STREETWARDEN_MODELS=str(env_dir)).stdout)
    assert {m["name"]: m["found_in"] for m in both["models"]} == {
        NAME: "$STREETWARDEN_MODELS", "yolov8n_coco_int8_640.onnx": "$STREETWARDEN_MODELS"}


def test_a_missing_model_is_one_line_naming_the_command(home):
    config = home / "sw.yaml"
    config.write_text(yaml.safe_dump({"cameras": [{"id": "a", "source": str(shared_path("media", "vtest.avi"))}]}))
    fetch_cfg = f"`streetwarden models fetch {NAME} --config {config}`"
    for args, command in [(("detect", str(shared_path("media", "bus.jpg"))), f"`streetwarden models fetch {NAME}`"),
                          (("run", "--config", str(config), "--once"), fetch_cfg),
                          (("config-doc", "--config", str(config)), fetch_cfg),
                          (("serve", "--config", str(config), "--port", str(closed_port())), fetch_cfg)]:
        line = one_error(cli(*args, cwd=home))
        assert f"model file not found: {NAME}" in line and command in line, (args, line)
        assert "models import /path/to/" in line
    other = one_error(cli("detect", str(shared_path("media", "bus.jpg")), "--model", "mine.onnx", cwd=home))
    assert "models fetch" not in other and "`streetwarden models import /path/to/mine.onnx`" in other
