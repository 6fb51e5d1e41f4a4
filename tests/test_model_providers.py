"""Execution providers by configuration (models/providers.py): validated, the CPU path the default
and unchanged, a missing GPU provider one clear error unless falling back is configured."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from streetwarden.config import ConfigError, parse_settings
from streetwarden.models import OnnxDetector
from streetwarden.models.detector import ModelError
from streetwarden.models.providers import ProviderError, resolve
from streetwarden.pipeline.worker import build_detectors
from tests.conftest import shared_path

GPU_ONLY = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


@pytest.mark.parametrize("providers,needle", [(["gpu"], "providers"), ([], "providers"), (["cuda", "cuda"], "twice")])
def test_bad_providers_name_the_field(providers: list, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"models": {"default": {"path": "yolox_nano_coco_416.onnx", "providers": providers}}})
    assert "models.default.providers" in str(err.value) and needle in str(err.value)


def test_default_is_the_cpu_and_detections_are_unchanged(tmp_path: Path, yolox_path: Path) -> None:
    settings = parse_settings({"models": {"default": {"path": str(yolox_path), "threads": 1}}}, base_dir=tmp_path)
    assert settings.models["default"].providers == ["cpu"] and not settings.models["default"].fallback_to_cpu
    det = build_detectors(settings, {"default"})["default"]
    assert det.session.get_providers() == ["CPUExecutionProvider"]
    plain = OnnxDetector(yolox_path, threads=1)  # as before providers existed
    image = cv2.imread(str(shared_path("media", "bus.jpg")))
    a, b = det.detect(image), plain.detect(image)
    assert len(a) >= 4 and np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.class_id, b.class_id)


def test_missing_provider_is_one_clear_error() -> None:
    with pytest.raises(ProviderError) as err:
        resolve(["cuda"], False, "models.default", available=["CPUExecutionProvider"])
    line = str(err.value)
    assert "\n" not in line and "models.default" in line and "cuda" in line and "fallback_to_cpu" in line
    assert "available: cpu" in line


def test_fallback_only_when_configured(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="streetwarden.models"):
        got = resolve(["tensorrt", "cuda", "cpu"], True, "models.default", available=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert got == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    lines = [r for r in caplog.records if r.getMessage() == "model_provider_fallback"]
    assert len(lines) == 1 and lines[0].fields["missing"] == ["tensorrt"]  # type: ignore[attr-defined]
    assert "fallback_to_cpu" in lines[0].fields["reason"]  # type: ignore[attr-defined]
    assert resolve(["cuda"], False, "m", available=["CUDAExecutionProvider", "CPUExecutionProvider"]) == \
        ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_gpu_provider_on_this_machine_runs_there_or_stops_with_the_reason(yolox_path: Path) -> None:
    """The real onnxruntime of this machine: a GPU provider it lacks is refused at load (no silent
    CPU run); one it has is the session's first provider."""
    name = next((k for k, v in (("tensorrt", GPU_ONLY[0]), ("cuda", GPU_ONLY[1])) if v not in ort.get_available_providers()), "cuda")
    wanted = {"tensorrt": GPU_ONLY[0], "cuda": GPU_ONLY[1]}[name]
    try:
        det = OnnxDetector(yolox_path, threads=1, providers=[name], name="default")
    except ModelError as err:
        assert wanted not in ort.get_available_providers() or "failed to start" in str(err)
        assert f"models.default: execution provider {name}" in str(err)
    else:
        assert det.session.get_providers()[0] == wanted
    det = OnnxDetector(yolox_path, threads=1, providers=[name], fallback_to_cpu=True)
    assert "CPUExecutionProvider" in det.session.get_providers()
    assert len(det.detect(cv2.imread(str(shared_path("media", "bus.jpg"))))) >= 4
