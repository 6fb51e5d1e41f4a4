"""Left-behind object engine on real footage: vtest.avi at 2 fps through CameraEngine with the real
YOLOX-Nano detector, with real garbage crops (garbage-cn, cut by its YOLO labels) pasted in.

The clip is decoded and detected once per module; a scenario re-runs the detector only on the
frames it changes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from streetwarden.camera_adapters.video_file import VideoFileSource
from streetwarden.detectors import CameraEngine, CandidateEvent
from streetwarden.detectors.left_behind import KEY_BASE, LeftBehindEngine
from streetwarden.models.detections import Detections, box_iou
from streetwarden.config import ZoneConfig
from tests import scenes

REPO = Path(__file__).resolve().parents[1]

FPS = 2.0
T0 = 20.0  # the object is put down here
DWELL = 10.0
OBJ_W, OBJ_H = 80, 64
WHOLE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]

Modifier = Callable[[float, np.ndarray], np.ndarray | None]  # None: frame unchanged


@dataclass
class Clip:
    frames: list[tuple[float, np.ndarray]]
    dets: list[Detections]
    detector: object

    def detections(self, i: int, image: np.ndarray, changed: bool) -> Detections:
        return self.detector.detect(image) if changed else self.dets[i]


@dataclass
class Run:
    events: list[CandidateEvent]
    engine: CameraEngine
    dets: list[Detections] = field(default_factory=list)

    def opened(self, violation: str | None = None) -> list[CandidateEvent]:
        return [e for e in self.events if e.kind == "open" and (violation is None or e.violation == violation)]


@pytest.fixture(scope="module")
def clip(vtest_path: Path, yolox) -> Clip:
    source = VideoFileSource("vtest", vtest_path, FPS)
    frames = [(f.ts, f.image) for f in source.frames()]
    source.close()
    assert len(frames) > 150, "vtest.avi should give ~160 frames at 2 fps"
    return Clip(frames, [yolox.detect(img) for _, img in frames], yolox)


@pytest.fixture(scope="module")
def garbage_crop() -> np.ndarray:
    """The first mid-sized `garbage` box of garbage-cn (sorted by file name), cut from its photo."""
    return scenes.garbage_crop(OBJ_W, OBJ_H)


@pytest.fixture(scope="module")
def place(clip: Clip) -> np.ndarray:
    """Where the object is put down: at the feet of a pedestrian seen just before t0 (the most
    prominent one), so attribution has someone to name. Box [x1, y1, x2, y2]."""
    i = next(i for i, (ts, _) in enumerate(clip.frames) if ts >= T0 - 0.5 - 1e-6)
    d = clip.dets[i]
    people = [(b, s) for b, n, s in zip(d.xyxy, d.label_names(), d.score) if n == "person" and s >= 0.6]
    assert people, "a pedestrian should be detected shortly before t0"
    box = max(people, key=lambda p: p[0][3])[0]
    fx, fy = float(box[0] + box[2]) / 2, float(box[3])
    x1, y1 = int(round(fx - OBJ_W / 2)), int(round(fy - OBJ_H * 0.7))
    return np.array([x1, y1, x1 + OBJ_W, y1 + OBJ_H], np.float32)


def zone(kind: str = "no_dumping", polygon=None, **kw) -> ZoneConfig:
    return ZoneConfig(id=f"{kind}-1", kind=kind, polygon=polygon or WHOLE, dwell_seconds=kw.pop("dwell", DWELL), **kw)


def run(clip: Clip, zones: list[ZoneConfig], modify: Modifier | None = None, dets: list[Detections] | None = None,
        on_events: Callable[[float, CameraEngine, list[CandidateEvent]], None] | None = None) -> Run:
    engine = CameraEngine("vtest", zones, live=False)
    events: list[CandidateEvent] = []
    used: list[Detections] = []
    for i, (ts, image) in enumerate(clip.frames):
        changed = modify(ts, image) if modify else None
        frame = image if changed is None else changed
        d = dets[i] if dets is not None else clip.detections(i, frame, changed is not None)
        used.append(d)
        new = engine.process(ts, frame, d)
        if on_events:
            on_events(ts, engine, new)
        events.extend(new)
    events.extend(engine.finish())
    return Run(events, engine, used)


def paste(crop: np.ndarray, box: np.ndarray, *spans: tuple[float, float]) -> Modifier:
    x1, y1 = int(box[0]), int(box[1])

    def modify(ts: float, image: np.ndarray) -> np.ndarray | None:
        if not any(a - 1e-6 <= ts < b for a, b in spans):
            return None
        out = image.copy()
        out[y1:y1 + crop.shape[0], x1:x1 + crop.shape[1]] = crop
        return out

    return modify


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(box_iou(np.asarray(a, np.float32)[None], np.asarray(b, np.float32)[None])[0, 0])


def region(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) for v in box)
    return image[y1:y2, x1:x2].astype(np.float32)


@pytest.fixture(scope="module")
def pasted(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray) -> Run:
    return run(clip, [zone()], paste(garbage_crop, place, (T0, 1e9)))


# -- the four cases ------------------------------------------------------------------------
def test_pasted_garbage_raises_one_dumping_candidate_on_time(pasted: Run, place: np.ndarray) -> None:
    opened = pasted.opened()
    assert len(opened) == 1, [(e.violation, e.label, e.box.tolist(), e.last_seen) for e in opened]
    e = opened[0]
    assert e.violation == "illegal_dumping"
    # the dwell runs from when the spot stopped looking like the ground: the pedestrian who stood
    # there half a second before t0 may count, so one analysed frame of slack on the early side
    assert T0 + DWELL - 1.0 / FPS - 1e-6 <= e.last_seen <= T0 + DWELL + 5.0, f"raised at {e.last_seen}s, put down at {T0}s"
    assert abs(e.first_seen - T0) <= 1.0, "the candidate's first_seen is when the object appeared"
    assert iou(e.box, place) >= 0.5, (e.box.tolist(), place.tolist())
    assert e.attributes["source"] == "static_object"
    assert e.attributes["object"] <= KEY_BASE, "static-object keys never collide with track ids"
    # the candidate stays one candidate while the object stays: later events update the same one
    assert {x.incident for x in pasted.events} == {e.incident}
    assert pasted.events[-1].kind == "close" and pasted.events[-1].last_seen >= pasted.engine.left_behind.model.last_ts - 1.0


def test_evidence_shows_before_after_and_who_was_there(clip: Clip, pasted: Run, place: np.ndarray,
                                                        garbage_crop: np.ndarray) -> None:
    e = pasted.opened()[0]
    kinds = [x.kind for x in e.evidence]
    assert "before" in kinds and "after" in kinds, kinds
    before = next(x for x in e.evidence if x.kind == "before")
    after = next(x for x in e.evidence if x.kind == "after")
    crop = garbage_crop.astype(np.float32)
    # "before" shows the ground as it was (the median of the untouched frames before t0), not the object
    ground = np.median(np.stack([region(img, place) for ts, img in clip.frames if ts < T0]), axis=0)
    assert np.abs(region(before.image, place) - ground).mean() < 15.0
    assert np.abs(region(before.image, place) - crop).mean() > 30.0
    assert np.abs(region(after.image, place) - crop).mean() < 5.0
    assert before.box is not None and iou(before.box, place) >= 0.5
    # attribution: the pedestrian at that spot half a second before t0 is among those named
    who = e.attributes["attribution"]
    assert who and all(T0 - 10.0 - 1e-6 <= w["ts"] <= T0 + 5.0 for w in who), who
    assert any(w["label"] == "person" and T0 - 1.0 - 1e-6 <= w["ts"] <= T0 for w in who), who
    crops = [x for x in e.evidence if x.kind == "attribution"]
    assert len(crops) == len(who) and all(c.image.size > 0 and c.note for c in crops)


def test_first_sight_picture_is_the_frame_at_first_seen(clip: Clip, pasted: Run, place: np.ndarray,
                                                        garbage_crop: np.ndarray) -> None:
    """The `first` evidence is the frame of the moment the object appeared, not of the raise."""
    e = pasted.opened()[0]
    first = next(x for x in e.evidence if x.kind == "first")
    assert e.first_seen - 1e-6 <= first.ts <= e.first_seen + 0.5 + 1e-6, (first.ts, e.first_seen)
    modify = paste(garbage_crop, place, (T0, 1e9))
    frame_at = {ts: (modify(ts, img) if modify(ts, img) is not None else img) for ts, img in clip.frames}
    then = frame_at[min(frame_at, key=lambda t: abs(t - first.ts))]
    raised = frame_at[min(frame_at, key=lambda t: abs(t - e.last_seen))]
    diff_then = float(np.abs(first.image.astype(np.float32) - then).mean())
    diff_raised = float(np.abs(first.image.astype(np.float32) - raised).mean())
    # kept as a 640-px JPEG: within a few grey levels of that frame, far from the frame of the raise
    assert diff_then < 5.0 and diff_then < 0.5 * diff_raised, (diff_then, diff_raised)
    assert np.abs(region(first.image, place) - garbage_crop.astype(np.float32)).mean() < 8.0, "it shows the object"


def test_camera_mask_over_the_object_raises_nothing(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray,
                                                    pasted: Run) -> None:
    W, H = 768, 576
    cx, cy = float(place[0] + place[2]) / 2 / W, float(place[1] + place[3]) / 2 / H
    mask = [(cx - 0.1, cy - 0.1), (cx + 0.1, cy - 0.1), (cx + 0.1, cy + 0.12), (cx - 0.1, cy + 0.12)]
    engine = CameraEngine("vtest", [zone()], live=False, masks=[mask])
    modify = paste(garbage_crop, place, (T0, 1e9))
    events = []
    for i, (ts, image) in enumerate(clip.frames):
        changed = modify(ts, image)
        events.extend(engine.process(ts, image if changed is None else changed, pasted.dets[i]))
    events.extend(engine.finish())
    assert events == [], [(e.kind, e.box.tolist()) for e in events]
    m = engine.left_behind.model
    x1, y1, x2, y2 = m.to_small(place)
    assert m.masked is not None and m.masked[y1:y2, x1:x2].all() and not m.fg[y1:y2, x1:x2].any()


def test_untouched_clip_raises_no_dumping(clip: Clip) -> None:
    still_since: dict[int, float] = {}
    longest = [0.0]

    def people_standing(ts: float, eng: CameraEngine, _: list) -> None:
        for tid, tr in eng.left_behind.traces.items():
            if tr.label == "person" and tr.still and tr.boxes[-1][0] == ts:
                longest[0] = max(longest[0], ts - still_since.setdefault(tid, ts))
            else:
                still_since.pop(tid, None)

    result = run(clip, [zone()], dets=clip.dets, on_events=people_standing)
    assert longest[0] >= DWELL, "people stand still in this clip for longer than the dwell"
    lb = result.engine.left_behind
    assert isinstance(lb, LeftBehindEngine) and lb.model.size == (768, 576), "the engine ran on every frame"
    assert lb.model.last_ts == clip.frames[-1][0]
    assert result.events == [], [(e.kind, e.label, e.box.tolist(), e.last_seen) for e in result.events]


def test_global_brightness_change_raises_nothing(clip: Clip) -> None:
    def darker(ts: float, image: np.ndarray) -> np.ndarray | None:
        return (image * 0.6).astype(np.uint8) if ts >= 30.0 else None

    gains: list[float] = []
    result = run(clip, [zone()], darker, on_events=lambda ts, eng, _: gains.append(eng.left_behind.model.gain))
    assert result.events == [], [(e.kind, e.label, e.box.tolist(), e.last_seen) for e in result.events]
    assert 0.55 <= gains[-1] <= 0.65, "the frame was normalised by the measured gain"


def test_object_removed_before_dwell_raises_nothing(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray) -> None:
    seen_fg: list[float] = []

    def watch(ts: float, eng: CameraEngine, _: list) -> None:
        m = eng.left_behind.model
        x1, y1, x2, y2 = m.to_small(place)
        seen_fg.append(float(m.fg[y1:y2, x1:x2].mean()))

    result = run(clip, [zone()], paste(garbage_crop, place, (T0, T0 + 3.0)), on_events=watch)
    assert result.events == [], [(e.kind, e.label, e.box.tolist(), e.last_seen) for e in result.events]
    assert max(seen_fg) > 0.4, "the object was seen as foreground while it lay there"


# -- removal, return, absorption ---------------------------------------------------------------
def test_removal_closes_and_return_updates_the_same_candidate(clip: Clip, garbage_crop: np.ndarray,
                                                              place: np.ndarray) -> None:
    removed, back = 35.0, 69.0
    result = run(clip, [zone()], paste(garbage_crop, place, (T0, removed), (back, 1e9)))
    assert len(result.opened()) == 1
    incident = result.opened()[0].incident
    assert all(e.incident == incident for e in result.events), "the return is not raised as a new candidate"
    close = next(e for e in result.events if e.kind == "close")
    assert removed - 0.5 <= close.last_seen <= removed + 5.0, f"last_seen {close.last_seen} after removal at {removed}"
    later = result.events[result.events.index(close) + 1:]
    assert any(e.kind == "update" and e.last_seen >= back + 1.0 for e in later), [(e.kind, e.last_seen) for e in later]
    assert later[-1].first_seen == pytest.approx(result.opened()[0].first_seen, abs=1e-6)


def test_object_is_kept_until_handled_then_absorbed(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray) -> None:
    handled: list[float] = []

    def review(ts: float, eng: CameraEngine, new: list[CandidateEvent]) -> None:
        for e in new:
            if e.kind == "open":
                assert eng.left_behind.mark_handled(e.attributes["object"])
                handled.append(ts)

    result = run(clip, [zone()], paste(garbage_crop, place, (T0, 1e9)), on_events=review)
    assert len(handled) == 1 and len(result.opened()) == 1
    assert max(e.last_seen for e in result.events) <= handled[0] + 1e-6, "nothing is reported once handled"
    lb = result.engine.left_behind
    assert not lb.objects, "the handled object is background now"
    m = lb.model
    x1, y1, x2, y2 = m.to_small(place)
    roi = (slice(y1 + 2, y2 - 2), slice(x1 + 2, x2 - 2))
    assert np.abs(m.bg[roi] - m.frame_small[roi]).mean() < 8.0, "the background holds the object now"


def test_max_age_absorbs_an_unhandled_object(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray,
                                             pasted: Run) -> None:
    result = run(clip, [zone(max_age_seconds=15.0)], paste(garbage_crop, place, (T0, 1e9)), dets=pasted.dets)
    assert len(result.opened()) == 1
    assert max(e.last_seen for e in result.events) <= T0 + 15.0 + 1.0
    assert not result.engine.left_behind.objects
    # without max_age it is still reported at the end of the clip (a long-standing pile is not forgotten)
    assert max(e.last_seen for e in pasted.events) >= pasted.engine.left_behind.model.last_ts - 1.0


def test_live_unix_timestamps_give_the_same_candidate(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray,
                                                      pasted: Run) -> None:
    """Live sources stamp frames in Unix seconds (~1.7e9): the engine must keep its times exact."""
    base = 1_764_000_000.0
    shifted = Clip([(ts + base, img) for ts, img in clip.frames], clip.dets, clip.detector)
    modify = paste(garbage_crop, place, (T0 + base, 1e12))
    live = run(shifted, [zone()], modify, dets=pasted.dets)
    assert len(live.opened()) == 1
    e, ref = live.opened()[0], pasted.opened()[0]
    assert e.first_seen - base == pytest.approx(ref.first_seen, abs=0.01)
    assert e.last_seen - base == pytest.approx(ref.last_seen, abs=0.01)
    assert iou(e.box, ref.box) > 0.95


# -- per-zone configuration and rules ----------------------------------------------------------------
def test_min_object_pixels_and_shopfront_zone(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray,
                                              pasted: Run) -> None:
    modify = paste(garbage_crop, place, (T0, 1e9))
    too_small = run(clip, [zone(min_object_pixels=4 * OBJ_W * OBJ_H)], modify, dets=pasted.dets)
    assert too_small.events == []
    share = run(clip, [zone(min_object_zone_fraction=0.05)], modify, dets=pasted.dets)
    assert share.events == [], "the object is under 5 % of the zone"
    W, H = 768, 576
    strip = [((place[0] - 60) / W, (place[1] - 60) / H), ((place[2] + 60) / W, (place[1] - 60) / H),
             ((place[2] + 60) / W, (place[3] + 40) / H), ((place[0] - 60) / W, (place[3] + 40) / H)]
    shop = run(clip, [zone("shopfront", polygon=strip, dwell=12.0)], modify, dets=pasted.dets)
    assert [e.violation for e in shop.opened()] == ["out_of_shop"]
    assert T0 + 12.0 - 1.0 / FPS - 1e-6 <= shop.opened()[0].last_seen <= T0 + 17.0
    elsewhere = [(0.0, 0.0), (0.3, 0.0), (0.3, 0.3), (0.0, 0.3)]
    assert run(clip, [zone(polygon=elsewhere)], modify, dets=pasted.dets).events == []


def test_vehicle_left_standing_is_parking_not_dumping(clip: Clip, shared: Path) -> None:
    bus = cv2.imread(str(shared / "media" / "bus.jpg"))[231:735, 13:801]  # the bus as YOLOX boxes it
    bus = cv2.resize(bus, (200, 128), interpolation=cv2.INTER_AREA)
    box = np.array([450, 300, 650, 428], np.float32)
    W, H = 768, 576
    walk = [(430 / W, 280 / H), (670 / W, 280 / H), (670 / W, 450 / H), (430 / W, 450 / H)]
    zones = [zone(), ZoneConfig(id="walk", kind="sidewalk", polygon=walk, dwell_seconds=DWELL)]
    result = run(clip, zones, paste(bus, box, (T0, 1e9)))
    labels = {n for d in result.dets[int(T0 * FPS):] for n in d.label_names()}
    assert labels & {"bus", "truck", "car"}, "the pasted bus is detected as a vehicle"
    assert result.opened("illegal_dumping") == []
    parking = result.opened("sidewalk_parking")
    assert len(parking) == 1 and iou(parking[0].box, box) >= 0.5


# -- the worker path -----------------------------------------------------------------------------------
def test_worker_runs_engine_and_example_raises_only_the_van(tmp_path: Path, vtest_path: Path, shared: Path) -> None:
    cfg = tmp_path / "sw.yaml"
    cfg.write_text(
        "database: sqlite:///sw.db\nstorage: data\n"
        "models:\n  default: {path: yolox_nano_coco_416.onnx, threads: 1}\n"
        "cameras:\n  - id: west-gate\n"
        f"    source: {json.dumps(str(vtest_path))}\n    analysis_fps: 2\n    zones:\n"
        "      - {id: walk-1, kind: sidewalk, dwell_seconds: 30, polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}\n"
        "      - {id: dump-all, kind: no_dumping, dwell_seconds: 10, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "STREETWARDEN_MODELS": str(shared / "models")}
    proc = subprocess.run([sys.executable, "-m", "streetwarden", "run", "--config", str(cfg), "--once"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["frames"] >= 150
    with sqlite3.connect(tmp_path / "sw.db") as db:
        rows = db.execute("select zone_id, violation, label from candidates").fetchall()
    assert [(z, v) for z, v, _ in rows] == [("walk-1", "sidewalk_parking")], rows
    assert rows[0][2] in {"truck", "car", "bus"}


def test_rejected_object_is_absorbed_by_the_worker(tmp_path: Path, vtest_path: Path, clip: Clip, pasted: Run,
                                                   garbage_crop: np.ndarray, place: np.ndarray) -> None:
    """A reviewer rejects the left-behind candidate (say, a fixture): the worker hands it to the
    camera's left-behind engine, which learns it into the background and stops reporting it."""
    from streetwarden.camera_adapters import Frame
    from streetwarden.pipeline.worker import Worker
    from streetwarden.api.auth.service import Principal
    from streetwarden.api.decisions.models import DecisionIn
    from streetwarden.api.decisions.service import decide
    from streetwarden.api.users.service import create_user
    from streetwarden.store.db import Database
    from streetwarden.store.schema import Candidate
    from streetwarden.config import parse_settings

    settings = parse_settings({
        "database": f"sqlite:///{tmp_path / 'sw.db'}", "storage": str(tmp_path / "data"),
        "cameras": [{"id": "vtest", "source": str(vtest_path), "analysis_fps": FPS,
                     "zones": [{"id": "no_dumping-1", "kind": "no_dumping", "dwell_seconds": DWELL,
                                "polygon": [list(p) for p in WHOLE]}]}],
    }, base_dir=tmp_path)
    db = Database(settings.database_url)
    db.upgrade()
    worker = Worker(settings, db, once=True)
    runner = worker.runners[0]
    modify = paste(garbage_crop, place, (T0, 1e9))

    def feed(i: int) -> None:
        ts, image = clip.frames[i]
        changed = modify(ts, image)
        worker.consume([(runner, Frame("vtest", ts, image if changed is None else changed, i, live=False))],
                       [pasted.dets[i]])

    def dumping() -> list[Candidate]:
        with db.session() as s:
            return [c for c in s.query(Candidate).all() if c.violation == "illegal_dumping"]

    i = 0
    while not dumping():
        feed(i)
        i += 1
        assert i < len(clip.frames), "the pasted object should be raised"
    cand = dumping()[0]
    assert cand.attributes["source"] == "static_object"
    for _ in range(int(16 * FPS)):  # the object stays: the engine reports it again (every 15 s)
        feed(i)
        i += 1
    seen_before = dumping()[0].last_seen
    assert seen_before > cand.last_seen
    with db.session() as s:
        reviewer = create_user(s, "alice", "reviewer", "alice-password-1")
        s.flush()
        me = Principal(reviewer.id, "alice", None, "reviewer", "session", None, time.time() + 3600)
    status, _ = decide(db, me, cand.id, DecisionIn(decision="reject", reason="not_a_violation"), None, None)
    assert status == 200
    worker._absorb_rejected()
    absorbed_at = clip.frames[i - 1][0]
    lb = runner.engine.left_behind
    assert not [o for o in lb.objects if iou(o.box, place) > 0.3], "the rejected object is background now"
    end = min(len(clip.frames), i + int(20 * FPS))
    assert clip.frames[end - 1][0] - absorbed_at >= 16.0, "enough clip left to see another report"
    while i < end:  # the same scene goes on: nothing more is reported about the object
        feed(i)
        i += 1
    after = dumping()
    assert len(after) == 1 and after[0].last_seen <= absorbed_at + 1e-6
    # the camera's health shows how steady its view is (measured by the left-behind engine)
    view = next(r for r in worker.health.snapshot() if r["camera_id"] == "vtest")["view"]
    assert view["state"] == "steady" and view["relearned"] == 0 and abs(view["offset_px"][0]) < 2.0, view


def test_a_toppled_object_is_boxed_whole(clip: Clip, garbage_crop: np.ndarray, place: np.ndarray) -> None:
    """Put down at t0, knocked over at 40 s (turned on its side, 8 px along): one candidate, whose
    box then covers the whole toppled object, not the half that did not move."""
    toppled = cv2.rotate(garbage_crop, cv2.ROTATE_90_CLOCKWISE)  # 64 x 80
    x1, y2 = int(place[0]) + 8, int(place[3])
    after = np.array([x1, y2 - toppled.shape[0], x1 + toppled.shape[1], y2], np.float32)

    def scene(ts: float, image: np.ndarray) -> np.ndarray | None:
        if ts < T0 - 1e-6:
            return None
        if ts < 40.0 - 1e-6:
            return paste(garbage_crop, place, (T0, 1e9))(ts, image)
        return paste(toppled, after, (0.0, 1e9))(ts, image)

    result = run(clip, [zone()], scene)
    assert len(result.opened()) == 1, [(e.kind, e.box.tolist(), e.last_seen) for e in result.events]
    assert {e.incident for e in result.events} == {result.opened()[0].incident}, "the toppled object is the same candidate"
    objects = [o for o in result.engine.left_behind.objects if iou(o.box, after) > 0.1]
    assert len(objects) == 1 and iou(objects[0].box, after) >= 0.6, [(o.box.tolist(), iou(o.box, after)) for o in objects]
