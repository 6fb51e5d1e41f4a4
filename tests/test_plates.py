"""Plates read by PP-OCR (shipped in rapidocr-onnxruntime) from real photos.

- garbage-cn/000756: a real street photo from China with a parked car whose blue plate reads
  ?A·50956 (the province character is too small to read by eye; OCR reads 鄂, a valid province,
  but gives that character only ~0.6): the worker, with plates enabled, raises the candidate from
  the photo and keeps the reading marked `uncertain` (province) for the reviewer; a notice issued
  before the reviewer checked it carries no plate, and gets the corrected one.
- opencv-doc's licenseplate_motion.jpg: a motion-blurred plate that is no mainland plate: nothing
  may be stored.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import shared_path
from streetwarden.detectors.plates import PROVINCES, best_plate, normalise, plate_kind, read_plate
from tests.enforcement_support import make_app, make_settings, open_db, raise_candidate
from streetwarden.models.plate_ocr import PlateOCR, TextLine
from streetwarden.pipeline.worker import Worker
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.schema import Candidate

CAR_PHOTO = "000756_jpg.rf.091f11e0258aa2fa8e6c4aa089c9f1c0.jpg"
BLURRED = Path("/usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg")


@pytest.fixture(scope="module")
def ocr() -> PlateOCR:
    return PlateOCR()


def car_photo() -> Path:
    return shared_path("datasets", "garbage-cn", "images", CAR_PHOTO)


@pytest.mark.parametrize("raw,expected,kind", [
    ("粤B12345", "粤B12345", "regular"), ("苏E·1234X", "苏E1234X", "regular"), ("京A O1234", "京A01234", "regular"),
    ("粤BD12345", "粤BD12345", "new_energy"), ("沪A12345F", "沪A12345F", "new_energy"), ("浙AFA1234", "浙AFA1234", "new_energy"),
    ("粤B1234挂", "粤B1234挂", "regular"),
    ("粤B1234", "粤B1234", None), ("粤B1234567", "粤B1234567", None), ("AB12345", "AB12345", None),
    ("粤112345", "粤112345", None), ("粤I12345", "粤I12345", None), ("港A12345", "港A12345", None), ("STOP", "STOP", None),
])
def test_mainland_plate_format(raw, expected, kind):
    assert normalise(raw) == expected and plate_kind(normalise(raw)) == kind


def test_split_reading_is_joined_and_low_confidence_dropped():
    import numpy as np

    q = np.zeros((4, 2), np.float32)
    assert best_plate([TextLine("粤B", 0.9, q), TextLine("·D12345", 0.8, q)]).text == "粤BD12345"
    assert best_plate([TextLine("粤B12345", 0.3, q)], min_confidence=0.5) is None


def test_reads_real_plate_through_the_worker(tmp_path):
    src = tmp_path / "cam"
    src.mkdir()
    shutil.copy(car_photo(), src / "frame.jpg")
    settings = make_settings(tmp_path, str(src), plates={"enabled": True})
    settings.cameras[0].zones = [z for z in settings.cameras[0].zones if z.id != "walk-1"]
    from streetwarden.config import ZoneConfig

    settings.cameras[0].zones.append(ZoneConfig(id="curb", kind="sidewalk", dwell_seconds=0,
                                                polygon=[(0.78, 0.0), (1.0, 0.0), (1.0, 0.6), (0.78, 0.6)]))
    db = open_db(settings)
    Worker(settings, db, once=True).run()
    with db.session() as s:
        cand = s.scalars(select(Candidate).where(Candidate.zone_id == "curb")).all()
        assert len(cand) == 1 and cand[0].label == "car"
        plate = cand[0].attributes["plate"]
        assert plate["text"][1:] == "A50956" and plate["text"][0] in PROVINCES, plate
        assert plate["source"] == "ocr" and 0.5 <= plate["confidence"] <= 1 and plate["kind"] == "regular"
        assert plate["uncertain"] == "province"  # a guessed province never reaches a notice
        notice = issue_from_decision(s, cand[0], "warn", "alice", settings)
        assert notice.plate_text is None and notice.plate_confidence is None
        cid = cand[0].id

    # the reviewer corrects it through the API; OCR never overwrites a correction
    client = TestClient(make_app(settings, db, role="reviewer", username="rita"))
    bad = client.put(f"/api/v1/candidates/{cid}/plate", json={"text": "ABC123"})
    assert bad.status_code == 422 and "not a mainland plate" in bad.json()["detail"]
    assert client.put("/api/v1/candidates/99999/plate", json={"text": "鄂A50956"}).status_code == 404
    r = client.put(f"/api/v1/candidates/{cid}/plate", json={"text": "鄂A·50956"})
    assert r.status_code == 200 and r.json()["text"] == "鄂A50956" and r.json()["source"] == "reviewer"
    assert r.json()["ocr"]["text"] == plate["text"] and r.json()["corrected_by"] == "rita"
    Worker(settings, db, once=True).run()  # the camera sees the car again
    with db.session() as s:
        assert s.get(Candidate, cid).attributes["plate"]["source"] == "reviewer"
    body = TestClient(make_app(settings, db, role="supervisor")).get(f"/api/v1/notices/{notice.ref}").json()
    assert body["plate"] == {"text": "鄂A50956", "confidence": 1.0}


def test_blurred_foreign_plate_stores_nothing(tmp_path, ocr, vtest_path):
    assert BLURRED.is_file(), f"{BLURRED} missing: install Debian package opencv-doc (scripts/install-test-deps.sh)"
    image = cv2.imread(str(BLURRED))
    assert read_plate(ocr, image) is None
    # through the worker's plate step: a candidate on this photo keeps no plate
    from streetwarden.detectors.events import CandidateEvent, EvidenceImage
    import numpy as np

    from streetwarden.pipeline.plate_reader import PlateReader
    from streetwarden.config import PlatesConfig

    settings = make_settings(tmp_path)
    db = open_db(settings)
    box = np.array([0, 30, 600, 420], np.float32)
    cid = raise_candidate(db, settings, image, box=tuple(box), label="car")
    reader = PlateReader(PlatesConfig(enabled=True), ocr)
    ev = CandidateEvent("update", "x", "west-gate", "walk-1", "sidewalk_parking", "car", 0.9, box, 0, 1, False,
                        (600, 482), [EvidenceImage("crop", image, 1.0, box, crop=True)])
    with db.session() as s:
        row = s.get(Candidate, cid)
        assert reader.update(row, ev) is False
    with db.session() as s:
        assert "plate" not in (s.get(Candidate, cid).attributes or {})


def test_van_in_vtest_has_no_readable_plate(ocr, vtest_path):
    cap = cv2.VideoCapture(str(vtest_path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 300)
    ok, frame = cap.read()
    assert ok
    assert read_plate(ocr, frame, [651, 42, 724, 99]) is None  # 73×57 px: nothing wrong is stored


# ---- plates that belong to the vehicle ----------------------------------------------------------
BMW_PHOTO, BMW_BOX = "000927_jpg", [396.0, 210.0, 558.0, 334.0]  # YOLOX-Nano's car box on that photo
SEDAN_BOX = (531, 14, 639, 280)  # the car of CAR_PHOTO (plate ?A·50956 on its right front)


def two_cars() -> tuple:
    """A real photo composed from real crops: the 000756 car parked just left of the 000927 BMW, its
    plate inside the BMW's crop box (left part, at plate height)."""
    folder = shared_path("datasets", "garbage-cn", "images")
    bmw = cv2.imread(str(next(p for p in sorted(folder.iterdir()) if p.name.startswith(BMW_PHOTO))))
    x1, y1, x2, y2 = SEDAN_BOX
    sedan = cv2.imread(str(car_photo()))[y1:y2, x1:x2]
    px, py = 334, 76
    image = bmw.copy()
    image[py:py + sedan.shape[0], px:px + sedan.shape[1]] = sedan
    return image, BMW_BOX, [float(px), float(py), float(px + sedan.shape[1]), float(py + sedan.shape[0])]


def test_only_the_right_cars_plate_is_stored(tmp_path, ocr):
    from streetwarden.detectors.events import CandidateEvent, EvidenceImage
    import numpy as np

    from streetwarden.detectors.plates import vehicle_crop
    from streetwarden.pipeline.plate_reader import PlateReader
    from streetwarden.config import PlatesConfig

    image, bmw, sedan = two_cars()
    # the scene is real: the sedan's plate is read inside the BMW's crop, and beats the BMW's own text
    lines = ocr.read(vehicle_crop(image, bmw))
    foreign = best_plate(lines)
    assert foreign is not None and foreign.text[1:] == "A50956", [(ln.text, ln.confidence) for ln in lines]

    settings = make_settings(tmp_path)
    db = open_db(settings)
    reader = PlateReader(PlatesConfig(enabled=True), ocr)
    ids = {}
    for name, box in (("bmw", bmw), ("sedan", sedan)):
        b = np.array(box, np.float32)
        ids[name] = raise_candidate(db, settings, image, box=tuple(box), label="car", incident=name)
        ev = CandidateEvent("update", name, "west-gate", "walk-1", "sidewalk_parking", "car", 0.9, b, 0, 1, False,
                            (image.shape[1], image.shape[0]), [EvidenceImage("crop", image, 1.0, b, crop=True)])
        with db.session() as s:
            reader.update(s.get(Candidate, ids[name]), ev)
    with db.session() as s:
        assert "plate" not in (s.get(Candidate, ids["bmw"]).attributes or {})  # not the neighbour's plate
        plate = s.get(Candidate, ids["sedan"]).attributes["plate"]
        assert plate["text"][1:] == "A50956" and plate["text"][0] in PROVINCES and plate["uncertain"] == "province"


def test_one_box_over_two_cars_keeps_no_guess(ocr):
    image, bmw, sedan = two_cars()
    both = [sedan[0], sedan[1], bmw[2], max(bmw[3], sedan[3])]
    reading = read_plate(ocr, image, both)
    # both plates fit a box that wide: a reviewer decides, the reading is no confident pick of one
    assert reading is not None and reading.uncertain is not None and reading.uncertain.startswith("competing:"), reading
    assert {reading.text[1:], reading.uncertain.split(":")[1][1:]} & {"A50956"}
