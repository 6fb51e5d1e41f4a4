"""Skipping the model when nothing moved (pipeline/motion_gate.py), on a quiet clip built from real
footage: car-detection.mp4's empty asphalt (frames 150-177, looped) for 40 s, then the real frames
in which a red car drives up into view (178-220; YOLOX calls it `bus` there), then that last frame
held for 80 s (the car has parked) with the quiet frames' own temporal noise added, so the still
part flickers like a real sensor. A sidewalk zone is drawn where the car stops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwarden.config import ConfigError, GatingConfig, parse_settings
from streetwarden.pipeline.metrics import metrics_text
from streetwarden.pipeline.motion_gate import MotionGate, thumbnail
from streetwarden.pipeline.worker import Worker
from streetwarden.store.db import Database
from tests.conftest import shared_path

FPS = 12.5  # car-detection.mp4
QUIET, ARRIVE, PARKED = range(150, 178), range(178, 221), 220
QUIET_S, PARKED_S = 40.0, 80.0
ANALYSIS_FPS = 1.0
DWELL = 20.0
PARKING_ZONE = [[0.35, 0.3], [0.65, 0.3], [0.65, 0.7], [0.35, 0.7]]  # where the red car stops


def clip_frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(shared_path("media", "car-detection.mp4")))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    assert len(frames) > PARKED, "car-detection.mp4 is shorter than expected"
    return frames


@pytest.fixture(scope="module")
def quiet_clip(tmp_path_factory) -> Path:
    return build_quiet_clip(tmp_path_factory.mktemp("quiet") / "quiet-then-parks.avi")


def build_quiet_clip(path: Path) -> Path:
    frames = clip_frames()
    quiet = [frames[i] for i in QUIET]
    mean = np.mean(np.stack(quiet).astype(np.float32), axis=0)
    noise = [q.astype(np.float32) - mean for q in quiet]  # the real frames' own flicker
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    assert out.isOpened(), "OpenCV cannot write MJPG here"
    for k in range(int(QUIET_S * FPS)):
        out.write(quiet[k % len(quiet)])
    for i in ARRIVE:
        out.write(frames[i])
    held = frames[PARKED].astype(np.float32)
    for k in range(int(PARKED_S * FPS)):
        out.write(np.clip(held + noise[k % len(noise)], 0, 255).astype(np.uint8))
    out.release()
    return path


def run_worker(tmp: Path, clip: Path, gating: bool) -> dict:
    settings = parse_settings({
        "database": f"sqlite:///{tmp / 'sw.db'}", "storage": str(tmp / "data"),
        "models": {"default": {"path": "yolox_nano_coco_416.onnx", "threads": 1}},
        "gating": {"enabled": gating, "full_run_seconds": 10},
        "cameras": [{"id": "car-park", "source": str(clip), "analysis_fps": ANALYSIS_FPS,
                     "zones": [{"id": "kerb", "kind": "sidewalk", "dwell_seconds": DWELL, "polygon": PARKING_ZONE}]}],
    }, base_dir=tmp)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db, once=True)
    opened: list[tuple[float, str]] = []
    engine = worker.runners[0].engine
    process = engine.process

    def recording(ts, image, dets):  # type: ignore[no-untyped-def]
        events = process(ts, image, dets)
        opened.extend((ts, e.label) for e in events if e.kind == "open")
        return events

    engine.process = recording
    model_frames = []
    det = worker.detectors["default"]
    detect = det.detect_prepared
    det.detect_prepared = lambda prepared: (model_frames.append(len(prepared)), detect(prepared))[1]  # count, then run
    stats = worker.run()
    return {"opened": opened, "model_frames": sum(model_frames), "frames": stats["frames"],
            "health": worker.health.snapshot()[0], "metrics": metrics_text(worker).decode()}


@pytest.fixture(scope="module")
def runs(quiet_clip: Path, tmp_path_factory) -> dict[str, dict]:
    return {name: run_worker(tmp_path_factory.mktemp(name), quiet_clip, name == "gated") for name in ("plain", "gated")}


def test_parked_car_is_raised_no_later_with_gating(runs: dict[str, dict]) -> None:
    plain, gated = runs["plain"]["opened"], runs["gated"]["opened"]
    assert len(plain) == 1, plain  # the guard: without gating the parked car is raised once
    assert len(gated) == 1, gated
    arrived = QUIET_S + len(ARRIVE) / FPS
    assert arrived + DWELL - 1.0 <= plain[0][0] <= arrived + DWELL + 5.0, plain
    assert gated[0][0] <= plain[0][0] + 1.0 / ANALYSIS_FPS, (gated, plain)
    assert gated[0][1] == plain[0][1]


def test_quiet_clip_needs_three_times_fewer_model_calls(runs: dict[str, dict]) -> None:
    plain, gated = runs["plain"], runs["gated"]
    assert plain["frames"] == gated["frames"]  # every analysed frame still reaches the engine
    assert plain["model_frames"] == plain["frames"]
    assert gated["model_frames"] * 3 <= plain["model_frames"], (gated["model_frames"], plain["model_frames"])
    # at least one full run per full_run_seconds of clip, so nothing waits longer than that
    assert gated["model_frames"] >= gated["frames"] / (10 * ANALYSIS_FPS)


def test_runs_and_skips_are_in_health_and_metrics(runs: dict[str, dict]) -> None:
    gated, plain = runs["gated"], runs["plain"]
    h = gated["health"]
    assert h["model_runs"] == gated["model_frames"] and h["model_skips"] == gated["frames"] - gated["model_frames"]
    assert f'streetwarden_camera_model_runs_total{{camera="car-park"}} {float(h["model_runs"])}' in gated["metrics"]
    assert f'streetwarden_camera_model_skips_total{{camera="car-park"}} {float(h["model_skips"])}' in gated["metrics"]
    assert plain["health"]["model_skips"] == 0 and plain["health"]["model_runs"] == plain["frames"]


def test_gate_sees_the_arriving_car_and_not_the_noise() -> None:
    frames = clip_frames()
    zone = parse_settings({"cameras": [{"id": "c", "source": "x.mp4", "zones": [
        {"id": "kerb", "kind": "sidewalk", "polygon": PARKING_ZONE}]}]}).cameras[0].zones
    gate = MotionGate(GatingConfig(enabled=True, full_run_seconds=10), zone)
    thumbs = {i: thumbnail(frames[i], 160) for i in [*QUIET, *ARRIVE]}
    assert gate.decide(0.0, thumbs[QUIET[0]])  # the first frame always runs
    assert not any(gate.decide(0.3 + k * 0.3, thumbs[i]) for k, i in enumerate(QUIET[1:]))  # noise, and cars outside it
    assert gate.decide(9.0, thumbs[PARKED])  # the red car in the zone
    assert not gate.decide(9.5, thumbs[PARKED])
    assert gate.decide(19.0, thumbs[PARKED])  # full run: full_run_seconds since the last one
    assert gate.runs == 3 and gate.skips == len(QUIET) - 1 + 1


def test_gate_ignores_changes_outside_the_zones_and_in_masks() -> None:
    frames = clip_frames()
    def zones(*polygons: list) -> list:
        return parse_settings({"cameras": [{"id": "c", "source": "x.mp4", "zones": [
            {"id": f"z{i}", "kind": "sidewalk", "polygon": p} for i, p in enumerate(polygons)]}]}).cameras[0].zones

    empty, car = thumbnail(frames[QUIET[0]], 160), thumbnail(frames[PARKED], 160)
    # the red car stops at x 0.4-0.6, the silver one leaves at the bottom left; the upper right is still
    away = MotionGate(GatingConfig(enabled=True), zones([[0.8, 0.05], [0.92, 0.05], [0.92, 0.55], [0.8, 0.55]]))
    assert away.decide(0.0, empty) and not away.decide(1.0, car)
    near = MotionGate(GatingConfig(enabled=True), zones([[0.8, 0.05], [0.92, 0.05], [0.92, 0.55], [0.8, 0.55]], PARKING_ZONE))
    assert near.decide(0.0, empty) and near.decide(1.0, car)
    masked = MotionGate(GatingConfig(enabled=True), zones(PARKING_ZONE), masks=[[(0.25, 0.2), (0.75, 0.2), (0.75, 0.8), (0.25, 0.8)]])
    assert masked.decide(0.0, empty) and not masked.decide(1.0, car)
    masked.set_zones(zones(PARKING_ZONE), masks=[])  # the mask removed live: the car wakes the model again
    assert masked.decide(2.0, empty) and masked.decide(3.0, car)
    whole = MotionGate(GatingConfig(enabled=True))  # no zones, no masks: the whole view counts
    assert whole.decide(0.0, empty) and whole.decide(1.0, car)


def test_gate_is_not_woken_by_a_shaking_pole() -> None:
    """The quiet frames shifted up to 8 px (of 768) at random, as a camera on a pole in the wind."""
    from tests import scenes

    frames = clip_frames()
    zone = parse_settings({"cameras": [{"id": "c", "source": "x.mp4", "zones": [
        {"id": "kerb", "kind": "sidewalk", "polygon": PARKING_ZONE}]}]}).cameras[0].zones
    rng = np.random.default_rng(7)
    for zones in (zone, []):
        gate = MotionGate(GatingConfig(enabled=True, full_run_seconds=600), zones)
        runs = [gate.decide(float(k), thumbnail(scenes.shifted(frames[QUIET[k % len(QUIET)]], *rng.uniform(-8, 8, 2)), 160))
                for k in range(60)]
        assert runs[0] and sum(runs) == 1, sum(runs)
        assert gate.decide(60.0, thumbnail(scenes.shifted(frames[PARKED], *rng.uniform(-8, 8, 2)), 160))  # the car is seen


@pytest.mark.parametrize("field,value", [("full_run_seconds", 0), ("pixel_threshold", -1), ("zone_share", 2),
                                         ("thumbnail_width", 4), ("every_frame", True)])
def test_bad_gating_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"gating": {field: value}})
    assert f"gating.{field}" in str(err.value)
