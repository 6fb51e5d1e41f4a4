"""End to end in a real headless Chromium against `streetwarden serve` (API + UI + camera worker in one
process) on a temporary SQLite database: the worker raises real candidates from vtest.avi; a reviewer
logs in, decides one with the keyboard as warn (with a note), rejects another with a reason, sees the
count drop and both in the history; an admin draws a zone on the cameras page, moves a corner,
deletes another zone, saves, and the running worker reloads it. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.review_support import real_frames, seed_candidates
from tests.ui_support import REPO, chromium, login, serve, token_client
from tests.waiting import wait_for
from streetwarden.store.db import Database

ART = REPO / "test-artifacts" / "review_ui"
ADMIN_PW = "admin-pass-e2e-1"
REVIEWER_PW = "reviewer-pass-e2e-1"


@pytest.fixture(scope="module")
def served(tmp_path_factory, vtest_path):
    tmp = tmp_path_factory.mktemp("e2e")
    config = tmp / "streetwarden.yaml"
    config.write_text(f"""
database: sqlite:///sw.db
storage: storage
server: {{snapshot_seconds: 1}}
cameras:
  - id: west-gate
    name: 西门
    source: {vtest_path}
    analysis_fps: 2
    address: 示例路 1 号西门
    zones:
      - {{id: walk-1, name: 西门人行道, kind: sidewalk, dwell_seconds: 30,
         polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}}
      - {{id: walk-2, name: 东人行道, kind: sidewalk, dwell_seconds: 10,
         polygon: [[0.955, 0.08], [1.0, 0.08], [1.0, 0.18], [0.955, 0.18]]}}
""", encoding="utf-8")
    with serve(config, ADMIN_PW) as server:
        url = server.url
        admin = token_client(url, "admin", ADMIN_PW)  # serve created the first admin from STREETWARDEN_ADMIN_PASSWORD
        r = admin.post("/api/v1/users", json={"username": "wang", "role": "reviewer", "password": REVIEWER_PW,
                                               "display_name": "王审核"})
        assert r.status_code == 201, r.text
        # wait for the worker to finish the clip: the two parked vehicles become candidates. Finished means
        # the source has ended and its last frame has been through the model and the rules (frames are
        # consumed in order), not "a while after the end"
        def clip_done() -> tuple | None:
            (health,) = admin.get("/api/v1/cameras/health").json()
            items = admin.get("/api/v1/candidates", params={"limit": 50}).json()["items"]
            done = (health["state"] == "ended" and health["last_frame_at"] is not None
                    and health["last_analysed_at"] == health["last_frame_at"] and len(items) >= 2)
            return (health, items) if done else None

        assert wait_for(clip_done, timeout=180, step=1), admin.get("/api/v1/cameras/health").json()
        real = sorted(i["id"] for i in admin.get("/api/v1/candidates", params={"limit": 50}).json()["items"])
        assert len(real) == 2
        # a dumping candidate with a before/after pair cut from real frames, added through the store
        db = Database(f"sqlite:///{tmp / 'sw.db'}")
        with db.session() as s:
            from streetwarden.store.schema import Candidate

            s.query(Candidate).count()
        dump = seed_candidates(db, tmp / "storage", real_frames(vtest_path, 3), 1, violation="illegal_dumping",
                               zone="walk-1", dumping_pair=True)
        yield {"url": url, "admin": admin, "real": real, "dump": dump, "log": server.log, "proc": server.proc}


@pytest.fixture(scope="module")
def browser():
    ART.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


@pytest.mark.timeout(420)
def test_reviewer_decides_with_the_keyboard(served, browser):
    url, admin = served["url"], served["admin"]
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a wrong password first: the page says so and stays
    page.goto(url + "/login")
    page.fill("#username", "wang")
    page.fill("#password", "wrong-password")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    login(page, url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    first, second = served["real"]
    expect(queue).to_have_attribute("data-candidate", str(first))
    expect(page.locator("#count-pending")).to_have_text("3")
    expect(page.locator("#c-title")).to_contain_text("人行道违停")
    expect(page.locator("#meta")).to_contain_text("西门")
    expect(page.locator("#ev-main")).to_have_attribute("src", __import__("re").compile(r"/api/v1/evidence/\d+"))
    page.wait_for_function("document.getElementById('ev-main').naturalWidth > 0")
    page.screenshot(path=str(ART / "01-queue.png"))

    # warn, with a note typed after pressing n
    page.keyboard.press("n")
    expect(page.locator("#note")).to_be_focused()
    page.keyboard.type("白色轿车停在人行道")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    expect(queue).to_have_attribute("data-candidate", str(second))  # the next one at once (preloaded)
    expect(page.locator("#count-pending")).to_have_text("2")

    # reject with a reason from the picker
    page.keyboard.press("3")
    expect(page.locator("#reason-picker")).to_be_visible()
    page.screenshot(path=str(ART / "02-reason-picker.png"))
    page.keyboard.press("1")
    expect(page.locator("#reason-picker")).to_be_hidden()
    expect(page.locator("#count-pending")).to_have_text("1")

    # the dumping candidate: its before/after pair is on screen
    expect(queue).to_have_attribute("data-candidate", str(served["dump"][0]))
    expect(page.locator("#thumbs figure.ev-before")).to_be_visible()
    expect(page.locator("#thumbs figure.ev-after")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    page.screenshot(path=str(ART / "03-dumping-pair.png"))

    warned = admin.get(f"/api/v1/candidates/{first}").json()
    assert warned["status"] == "warned" and warned["decision"]["decided_by"] == "wang"
    assert warned["decision"]["note"] == "白色轿车停在人行道"
    rejected = admin.get(f"/api/v1/candidates/{second}").json()
    assert rejected["status"] == "rejected" and rejected["decision"]["reason"] == "false_detection"

    # the history shows both, newest first, with who
    page.click("nav a[data-page=history]")
    expect(page).to_have_url(url + "/history")
    rows = page.locator("#history-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-decision", "reject")
    expect(rows.nth(0)).to_contain_text("误检")
    expect(rows.nth(1)).to_have_attribute("data-decision", "warn")
    expect(rows.nth(1)).to_contain_text("白色轿车停在人行道")
    expect(rows.nth(1).locator(".by")).to_have_text("wang")
    page.fill("#h-search", "白色轿车")
    expect(rows).to_have_count(1)
    page.fill("#h-search", "")
    expect(rows).to_have_count(2)
    page.click("#lang-toggle")  # English switch
    expect(page.locator("nav a[data-page=history]")).to_have_text("History")
    expect(rows.nth(0)).to_contain_text("False detection")
    page.screenshot(path=str(ART / "04-history-en.png"))
    page.click("#lang-toggle")
    expect(page.locator("nav a[data-page=history]")).to_have_text("审核记录")
    assert not errors, errors


@pytest.mark.timeout(300)
def test_admin_draws_moves_and_deletes_zones(served, browser):
    url, admin = served["url"], served["admin"]
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url, "admin", ADMIN_PW, "/cameras")
    expect(page.locator("#camera-list li")).to_have_count(1)
    page.wait_for_function("document.getElementById('snapshot').naturalWidth > 0")
    expect(page.locator("#overlay g.zone")).to_have_count(2)
    owner = admin.get("/api/v1/cameras/west-gate").json()["owner"]
    assert owner  # the serve process's own worker holds the camera's lease
    expect(page.locator("#cam-title")).to_contain_text(owner)
    before = admin.get("/api/v1/cameras/west-gate").json()["zones_version"]

    box = page.locator("#overlay").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.click("#new-zone")
    for fx, fy in [(0.10, 0.60), (0.40, 0.60), (0.40, 0.90), (0.10, 0.90)]:
        page.mouse.click(*at(fx, fy))
    page.keyboard.press("Enter")
    expect(page.locator("#overlay g.zone")).to_have_count(3)
    expect(page.locator("#zone-form")).to_be_visible()
    page.fill("#z-id", "e2e-kerb")
    page.fill("#z-name", "路缘垃圾点")
    page.select_option("#z-kind", "no_dumping")
    page.fill("#z-dwell", "45")
    # move one corner: drag the handle at (0.40, 0.90) to (0.45, 0.95)
    page.mouse.move(*at(0.40, 0.90))
    page.mouse.down()
    page.mouse.move(*at(0.43, 0.93), steps=4)
    page.mouse.move(*at(0.45, 0.95), steps=4)
    page.mouse.up()
    # select walk-2 (the sliver at the top right) and delete it with the Delete key
    page.mouse.click(*at(0.975, 0.13))
    expect(page.locator("#z-id")).to_have_value("walk-2")
    page.keyboard.press("Delete")
    expect(page.locator("#overlay g.zone")).to_have_count(2)
    page.screenshot(path=str(ART / "05-zone-editor.png"))
    page.click("#save-zones")
    expect(page.locator("#save-status")).to_contain_text(f"已保存（版本 {before + 1}）")

    zones = {z["id"]: z for z in admin.get("/api/v1/cameras/west-gate/zones").json()}
    assert set(zones) == {"walk-1", "e2e-kerb"}
    kerb = zones["e2e-kerb"]
    assert kerb["kind"] == "no_dumping" and kerb["dwell_seconds"] == 45 and kerb["name"] == "路缘垃圾点"
    expected = [(0.10, 0.60), (0.40, 0.60), (0.45, 0.95), (0.10, 0.90)]
    assert len(kerb["polygon"]) == 4
    for (x, y), (ex, ey) in zip(kerb["polygon"], expected):
        assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01, kerb["polygon"]
    # the running worker picked the new zones up, without a restart
    def reloaded() -> bool:
        lines = [json.loads(l) for l in served["log"].read_text(encoding="utf-8").splitlines() if l.startswith("{")]
        return any(l.get("event") == "zones_reloaded" and l.get("version") == before + 1 for l in lines)

    assert wait_for(reloaded, timeout=60, step=0.5), "the worker did not reload the zones"
    assert served["proc"].poll() is None
    page.screenshot(path=str(ART / "06-zones-saved.png"))
    assert not errors, errors


@pytest.mark.timeout(300)
def test_reviewer_sees_and_corrects_the_plate(served, browser):
    """Sidewalk parking shows the plate row; `p` opens the correction, a bad plate is refused."""
    url, admin = served["url"], served["admin"]
    db = Database(f"sqlite:///{served['log'].parent / 'sw.db'}")
    (cid,) = seed_candidates(db, served["log"].parent / "storage", real_frames(served_vtest(), 2), 1,
                             t0=1_800_000_000.0)
    # the queue page claims the 3 oldest: clear the others (as wang, who may hold their claims)
    wang = httpx.Client(base_url=url, timeout=30)
    wang.headers["Authorization"] = "Bearer " + wang.post(
        "/api/v1/auth/token", data={"username": "wang", "password": REVIEWER_PW}).json()["access_token"]
    for item in wang.get("/api/v1/candidates", params={"status": "pending", "limit": 50}).json()["items"]:
        if item["id"] != cid:
            r = wang.post(f"/api/v1/candidates/{item['id']}/decision", json={"decision": "reject", "reason": "other"})
            assert r.status_code == 200, r.text
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    login(page, url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    expect(queue).to_have_attribute("data-candidate", re.compile(r"^\d+$"))  # the queue has loaded
    for _ in range(10):
        current = queue.get_attribute("data-candidate") or ""
        if current == str(cid):
            break
        page.keyboard.press("j")
        expect(queue).not_to_have_attribute("data-candidate", current)  # the next one is shown (no guessed wait)
    expect(queue).to_have_attribute("data-candidate", str(cid))
    plate = page.locator('dd[data-field="plate"]')
    expect(plate).to_have_text("未识别")
    page.once("dialog", lambda d: d.accept("粤X"))  # not a mainland plate
    page.keyboard.press("p")
    expect(page.locator("#toast .toast.warn").first).to_be_visible()  # the server refused it, the page says so
    assert "plate" not in (admin.get(f"/api/v1/candidates/{cid}").json().get("attributes") or {})
    page.once("dialog", lambda d: d.accept("粤B12345"))
    page.keyboard.press("p")
    expect(plate).to_contain_text("粤B12345")
    stored = admin.get(f"/api/v1/candidates/{cid}").json()["attributes"]["plate"]
    assert stored["text"] == "粤B12345" and stored["corrected_by"] == "wang"
    page.screenshot(path=str(ART / "queue-plate.png"))
    page.close()


def served_vtest():
    from tests.conftest import shared_path

    return shared_path("media", "vtest.avi")
