"""Bad input gets a one-line error that names the problem, a non-zero exit and no traceback."""

from __future__ import annotations

import pytest
import yaml

from streetwarden.config import ConfigError, load_settings
from tests.conftest import REPO, shared_path
from tests.test_pipeline_vtest import WALK, cli, write_config


def zone(**over):
    z = {"id": "walk-1", "kind": "sidewalk", "dwell_seconds": 30, "polygon": WALK}
    z.update(over)
    return z


@pytest.mark.parametrize(
    "bad, expected",
    [
        (zone(kind="pavement"), "cameras[0](west-gate).zones[0](walk-1).kind: Input should be 'sidewalk'"),
        (zone(polygon=[[0.1, 0.1], [0.2, 0.2]]), "zones[0](walk-1).polygon: a polygon needs at least 3 points, got 2"),
        (zone(polygon=[[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]), "polygon: point 1 [1.2, 0.1] is outside 0-1"),
        (zone(dwell_seconds=-5), "zones[0](walk-1).dwell_seconds: dwell_seconds must be 0 or more, got -5"),
        (zone(dwel_seconds=5), "zones[0](walk-1).dwel_seconds: unknown field"),
    ],
)
def test_bad_zone_names_field(tmp_path, bad, expected):
    config = write_config(tmp_path, [bad])
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert expected in str(err.value)
    result = cli("run", "--config", str(config), "--once")
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("streetwarden: error:")


def test_other_config_mistakes(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cameras: [{id: a, source: x.avi, model: big}]\n")
    with pytest.raises(ConfigError, match="camera 'a' uses model 'big', which is not in `models`"):
        load_settings(cfg)
    cfg.write_text("cameras: [{id: a, source: x.avi, analysis_fps: 0}]\n")
    with pytest.raises(ConfigError, match=r"cameras\[0\]\(a\).analysis_fps: Input should be greater than 0"):
        load_settings(cfg)
    cfg.write_text("cameras: [{id: a, source: x.avi, read_batch_seconds: 5}]\n")
    with pytest.raises(ConfigError, match=r"cameras\[0\]\(a\).read_batch_seconds: Input should be less than or equal to 1"):
        load_settings(cfg)
    cfg.write_text("decoding: {threads: 99}\n")
    with pytest.raises(ConfigError, match=r"decoding.threads: .*auto, 0 .* or 1 to 64 threads"):
        load_settings(cfg)
    cfg.write_text("decoding: {threads: -1}\n")
    with pytest.raises(ConfigError, match=r"decoding.threads"):
        load_settings(cfg)
    cfg.write_text("cameras: [{id: a\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "missing.yaml")


def test_missing_model_file(tmp_path):
    config = write_config(tmp_path, [zone()], models={"default": {"path": "no_such_model.onnx"}})
    result = cli("run", "--config", str(config), "--once")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "model file not found" in result.stderr and "no_such_model.onnx" in result.stderr
    result = cli("detect", str(shared_path("media", "bus.jpg")), "--model", "/nowhere/x.onnx")
    assert result.returncode == 2 and "model file not found: /nowhere/x.onnx" in result.stderr


def test_unreadable_video(tmp_path):
    junk = tmp_path / "broken.avi"
    junk.write_bytes(b"\x00garbage" * 1000)
    config = write_config(tmp_path, [zone()])
    data = yaml.safe_load(config.read_text())
    data["cameras"][0]["source"] = str(junk)
    config.write_text(yaml.safe_dump(data))
    result = cli("run", "--config", str(config), "--once")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "broken.avi" in result.stderr and "cannot" in result.stderr
    data["cameras"][0]["source"] = str(tmp_path / "gone.mp4")
    config.write_text(yaml.safe_dump(data))
    result = cli("run", "--config", str(config), "--once")
    assert result.returncode == 2 and "video file not found" in result.stderr


def test_unreadable_image_in_detect(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    result = cli("detect", str(bad))
    assert result.returncode == 2 and "cannot read image" in result.stderr and "Traceback" not in result.stderr


def test_example_config_is_valid_and_documented():
    settings = load_settings(REPO / "examples" / "streetwarden.yaml")
    assert settings.cameras[0].zones[0].dwell == 30
    doc = cli("config-doc")
    assert doc.returncode == 0
    assert "cameras[].zones[].dwell_seconds:" in doc.stdout and "database:" in doc.stdout
    # every field carries a description
    assert all(line.split(":", 1)[1].strip() for line in doc.stdout.splitlines())
