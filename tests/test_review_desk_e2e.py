"""The reviewer's desk in a real headless Chromium against `streetwarden serve --no-worker` (a real
subprocess, stopped and restarted on the same port) with a real webhook receiver:
- safe keys: after a click the focus is on no button, so Enter / Space decide nothing;
- undo: `u` and the toast's button take a decision back within `server.undo_seconds`; an undone warn
  leaves no notice and no webhook, a kept one is delivered after its window; the audit log has both;
- never lose a decision: with the server down the decision waits in the page (listed, with the
  offline banner), survives closing the tab (localStorage) and is delivered exactly once when the
  server is back;
- zh-CN: a refused API call shows no Latin-script text; bounded toast stack.
Screenshots at 1440, 1024 and 390 px in test-artifacts/review_desk/."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from streetwarden.store.db import Database
from streetwarden.store.notice_schema import Notice
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.review import Decision
from tests.enforcement_support import SECRET, Receiver
from tests.review_support import free_port, real_frames, seed_candidates
from tests.ui_support import REPO, chromium, login, start_serve, stop_serve, token_client
from tests.waiting import wait_for

ART = REPO / "test-artifacts" / "review_desk"
ADMIN_PW = "admin-pass-desk-1"
REVIEWER_PW = "reviewer-pass-desk-1"
WINDOW = 6  # undo seconds: room for a keypress on a loaded machine, short enough to wait out
WIDTHS = (1440, 1024, 390)
LATIN = re.compile(r"[A-Za-z]{3,}")


class Desk:
    """The served app, restartable on its port, plus the receiver and the database behind it."""

    def __init__(self, tmp, vtest) -> None:
        self.receiver = Receiver(free_port()).start()
        self.config = tmp / "streetwarden.yaml"
        self.config.write_text(f"""
database: sqlite:///sw.db
storage: storage
server: {{undo_seconds: {WINDOW}}}
webhooks: {{url: "http://127.0.0.1:{self.receiver.port}/hooks", poll_seconds: 0.2}}
cameras:
  - id: west-gate
    name: 西门
    source: {vtest}
    address: 示例路 1 号西门
    zones:
      - {{id: walk-1, name: 西门人行道, kind: sidewalk, dwell_seconds: 30,
         polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}}
  - id: east-gate
    name: 东门
    source: {vtest}
""", encoding="utf-8")
        self.port = free_port()
        self.server = None
        self.start()
        self.url = self.server.url
        self.db = Database(f"sqlite:///{tmp / 'sw.db'}")
        self.admin = token_client(self.url, "admin", ADMIN_PW)
        r = self.admin.post("/api/v1/users", json={"username": "wang", "role": "reviewer", "password": REVIEWER_PW})
        assert r.status_code == 201, r.text
        self.ids = seed_candidates(self.db, tmp / "storage", real_frames(vtest, 3), 12)
        # the deployment's webhook sender: `streetwarden webhooks`, its own process beside serve
        env = {**os.environ, "PYTHONPATH": str(REPO), "STREETWARDEN_WEBHOOK_SECRET": SECRET}
        self.hooks_log = open(tmp / "webhooks.log", "w", encoding="utf-8")
        self.hooks = subprocess.Popen([sys.executable, "-m", "streetwarden", "webhooks", "--config", str(self.config)],
                                      cwd=REPO, env=env, stdout=self.hooks_log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.server = start_serve(self.config, ADMIN_PW, "--no-worker", port=self.port,
                                  env={"STREETWARDEN_WEBHOOK_SECRET": SECRET})

    def stop(self) -> None:
        stop_serve(self.server)

    def decisions(self, cid: int) -> list[str]:
        audit = self.admin.get("/api/v1/audit", params={"limit": 500}).json()["items"]
        return [e["action"] for e in audit if e["target_id"] == str(cid) and e["action"] in
                ("candidate.decide", "candidate.undo")][::-1]  # oldest first

    def status(self, cid: int) -> str:
        return self.admin.get(f"/api/v1/candidates/{cid}").json()["status"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory, vtest_path):
    d = Desk(tmp_path_factory.mktemp("desk"), vtest_path)
    try:
        yield d
    finally:
        if d.server.proc.poll() is None:
            d.stop()
        d.hooks.terminate()
        d.hooks.wait(30)
        d.hooks_log.close()
        d.receiver.stop()


@pytest.fixture(scope="module")
def browser():
    ART.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


def shots(page, name: str) -> None:
    """The page at each width: no horizontal scroll is asserted by the responsive tests; here, pictures."""
    for w in WIDTHS:
        page.set_viewport_size({"width": w, "height": 900 if w > 500 else 844})
        page.screenshot(path=str(ART / f"{name}-{w}.png"))
    page.set_viewport_size({"width": 1440, "height": 900})


def on_screen(page) -> int:
    return int(page.locator("#queue").get_attribute("data-candidate"))


@pytest.mark.timeout(300)
def test_safe_keys_and_undo(desk, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    expect(queue).to_have_attribute("data-candidate", re.compile(r"\d+"))
    a = on_screen(page)
    assert wait_for(lambda: page.evaluate("document.getElementById('ev-main').naturalWidth") > 0)

    # a click on 警告 leaves no focus behind: Enter and Space decide nothing
    page.click("#btn-warn")
    expect(queue).not_to_have_attribute("data-candidate", str(a))
    b = on_screen(page)
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    expect(page.locator("#pending-box")).to_be_hidden()
    undo_button = page.locator("#toast .toast-action").last
    expect(undo_button).to_be_visible()
    assert on_screen(page) == b
    assert desk.status(a) == "warned" and desk.status(b) == "pending"
    assert desk.decisions(b) == []
    shots(page, "queue")

    # `u` takes the warn back: no notice, no webhook row; the candidate is on screen again
    page.keyboard.press("u")
    expect(queue).to_have_attribute("data-candidate", str(a))
    assert desk.status(a) == "pending"
    with desk.db.session() as s:
        assert s.scalars(select(Notice).where(Notice.candidate_id == a)).all() == []
        assert s.scalars(select(OutboxMessage)).all() == []

    # the toast's button undoes a reject the same way
    page.keyboard.press("3")
    page.keyboard.press("2")
    expect(queue).not_to_have_attribute("data-candidate", str(a))
    expect(undo_button).to_be_visible()
    undo_button.click()
    expect(queue).to_have_attribute("data-candidate", str(a))
    assert desk.status(a) == "pending"
    assert page.evaluate("document.activeElement === document.body")

    # now warn it for good: its notice goes out once, after the window, and nothing of the undone ones
    page.keyboard.press("1")
    expect(queue).not_to_have_attribute("data-candidate", str(a))
    got = wait_for(desk.receiver.accepted, timeout=WINDOW + 40)
    with desk.db.session() as s:
        (notice,) = s.scalars(select(Notice).where(Notice.candidate_id == a)).all()
        decided_at = s.scalar(select(Decision.decided_at).where(Decision.candidate_id == a))
    assert [(p["event"], p["body"]["data"]["ref"]) for p in got] == [("notice.created", notice.ref)]

    def delivered_at() -> float | None:
        # the sender marks the row delivered only after the receiver has answered: wait for that commit
        with desk.db.session() as s:
            return s.scalar(select(OutboxMessage.delivered_at))

    delivered = wait_for(delivered_at, timeout=30)
    assert delivered is not None, "the outbox row was never marked delivered"
    assert delivered >= decided_at + WINDOW
    assert desk.decisions(a) == ["candidate.decide", "candidate.undo", "candidate.decide", "candidate.undo",
                                 "candidate.decide"]
    # after the window `u` has nothing left to take back, and says so in Chinese
    page.keyboard.press("u")
    expect(page.locator("#toast .toast.warn").last).to_contain_text("没有可撤销")
    assert desk.status(a) == "warned"

    # fast decisions: the toast stack stays bounded. The note field is measured while a candidate shows it
    # (the queue may run empty during the skips); the page lays both out at fixed places
    expect(page.locator("#note")).to_be_visible()
    note = page.locator("#note").bounding_box()
    for _ in range(4):
        page.keyboard.press("s")
    expect(page.locator("#pending-box")).to_be_hidden()
    assert page.locator("#toast .toast").count() <= 3
    toasts = page.locator("#toast").bounding_box()
    assert toasts["x"] + toasts["width"] <= note["x"] or toasts["y"] >= note["y"] + note["height"], (toasts, note)
    assert not errors, errors
    ctx.close()


@pytest.mark.timeout(400)
def test_decisions_survive_the_server_going_away(desk, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    expect(queue).to_have_attribute("data-candidate", re.compile(r"\d+"))
    assert wait_for(lambda: page.evaluate("document.getElementById('ev-main').naturalWidth") > 0)
    x = on_screen(page)

    desk.stop()
    page.keyboard.press("1")
    entry = page.locator(f"#pending-list li[data-candidate='{x}']")
    expect(entry).to_be_visible()
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#offline")).not_to_contain_text("Failed")
    expect(page.locator("#pending-count")).to_have_text("1")
    # the page keeps retrying; the decision stays listed the whole time
    for _ in range(3):
        page.wait_for_timeout(700)
        expect(entry).to_be_visible()
    shots(page, "queue-offline")

    desk.start()
    expect(page.locator("#pending-box")).to_be_hidden(timeout=40_000)
    expect(page.locator("#offline")).to_be_hidden()
    assert desk.status(x) == "warned"
    assert desk.decisions(x) == ["candidate.decide"]

    # down again: a reject waits, the tab is closed, and a new tab delivers it once
    y = on_screen(page)
    desk.stop()
    page.keyboard.press("3")
    page.keyboard.press("1")
    expect(page.locator(f"#pending-list li[data-candidate='{y}']")).to_be_visible()
    stored = page.evaluate("localStorage.getItem('sw_outbox_wang')")
    assert f'"id":{y}' in stored
    page.close()
    desk.start()
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(desk.url + "/queue")
    expect(page.locator("#queue")).to_have_attribute("data-candidate", re.compile(r"\d+"))
    expect(page.locator("#pending-box")).to_be_hidden(timeout=40_000)
    assert on_screen(page) != y
    wait_for(lambda: desk.status(y) == "rejected")
    assert desk.admin.get(f"/api/v1/candidates/{y}").json()["decision"]["reason"] == "false_detection"
    assert desk.decisions(y) == ["candidate.decide"]
    assert desk.decisions(x) == ["candidate.decide"]
    assert page.evaluate("localStorage.getItem('sw_outbox_wang')") == "[]"
    assert not errors, errors
    ctx.close()


@pytest.mark.timeout(200)
def test_zh_cn_refusals_show_no_english(desk, browser):
    """A bad plate (422) and a decision on a candidate someone else decided (409): Chinese text only."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    expect(queue).to_have_attribute("data-candidate", re.compile(r"\d+"))
    page.once("dialog", lambda d: d.accept("hello"))
    page.keyboard.press("p")
    toast = page.locator("#toast .toast").last
    expect(toast).to_be_visible()
    assert not LATIN.search(toast.inner_text()), toast.inner_text()
    # the admin decides the one on screen behind wang's back: wang's decision is refused with 409
    cid = on_screen(page)
    assert desk.admin.post(f"/api/v1/candidates/{cid}/release", params={"force": "true"}).status_code in (200, 204)
    r = desk.admin.post(f"/api/v1/candidates/{cid}/decision", json={"decision": "reject", "reason": "duplicate"})
    assert r.status_code == 200, r.text
    page.keyboard.press("2")
    err = page.locator("#toast .toast.error").last
    expect(err).to_contain_text(f"#{cid}")
    text = err.inner_text().replace(f"#{cid}", "")
    assert not LATIN.search(text), text
    ctx.close()


PAGES = ("/queue", "/enforcement", "/cameras", "/history", "/stats")
ONE_ROW = """() => { const kids = [...document.querySelector('header.top').children].filter((e) => e.offsetParent !== null);
                    return new Set(kids.map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))).size === 1; }"""
NO_SIDEWAYS = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


@pytest.mark.timeout(300)
def test_pages_fit_a_tablet_and_a_phone(desk, browser):
    """No page scrolls sideways at 1024 or 390 px; the queue's four decision buttons are all on screen at
    390 px; the English header stays on one row at 1280 and 1440 px. Every page is photographed."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    expect(page.locator("#queue")).to_have_attribute("data-candidate", re.compile(r"\d+"))
    for path in PAGES:
        page.goto(desk.url + path)
        expect(page.locator("#who")).not_to_be_empty()
        for w in (1024, 390):
            page.set_viewport_size({"width": w, "height": 900 if w > 500 else 844})
            assert page.evaluate(NO_SIDEWAYS), (path, w, page.evaluate("document.scrollingElement.scrollWidth"))
        if path == "/queue":
            for b in page.locator(".decide .d").all():
                expect(b).to_be_visible()
                box = b.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        shots(page, path.strip("/"))
    page.evaluate("localStorage.setItem('sw_lang', 'en')")
    for path in PAGES:
        page.goto(desk.url + path)
        expect(page.locator("#who")).not_to_be_empty()
        for w in (1280, 1440):
            page.set_viewport_size({"width": w, "height": 900})
            assert page.evaluate(ONE_ROW), (path, w)
        shots(page, path.strip("/") + "-en")
    ctx.close()


@pytest.mark.timeout(200)
def test_counts_follow_new_work_live(desk, browser, vtest_path):
    """A candidate raised and a decision made elsewhere show in the header within the event stream's
    second, long before the 40 s claim heartbeat."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    pending = page.locator("#count-pending")
    expect(pending).to_have_text(re.compile(r"^\d+$"))
    before = int(pending.inner_text())
    seed_candidates(desk.db, desk.config.parent / "storage", real_frames(vtest_path, 1), 1, t0=1_750_000_000.0)
    expect(pending).to_have_text(str(before + 1), timeout=15_000)
    free = desk.admin.get("/api/v1/candidates", params={"status": "pending", "order": "newest", "limit": 1}).json()["items"][0]
    r = desk.admin.post(f"/api/v1/candidates/{free['id']}/decision", json={"decision": "reject", "reason": "other"})
    assert r.status_code == 200, r.text
    expect(pending).to_have_text(str(before), timeout=15_000)
    ctx.close()


@pytest.mark.timeout(300)
def test_cameras_page_and_zone_editor(desk, browser):
    """No worker here, so no picture yet: the canvas keeps its size under the placeholder and the state
    reads 状态未知 in Chinese; the snapshot grid lists the camera; double-click finishes a polygon, two
    corners are refused with a message, Backspace asks first, and the list counts the saved zones."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "admin", ADMIN_PW, "/cameras")
    item = page.locator("#camera-list li[data-camera='west-gate']")
    expect(item.locator(".cam-state")).to_have_text("状态未知")
    expect(item.locator(".zone-count")).to_contain_text("1 区域")
    # east-gate has no picture at all yet: the placeholder sits in a canvas of full size
    page.click("#camera-list li[data-camera='east-gate']")
    expect(page.locator("#no-snapshot")).to_be_visible()
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["height"] > 200 and canvas["width"] > 400, canvas
    shots(page, "cameras-no-picture")
    page.click("#show-grid")
    expect(page.locator("#snap-grid figure")).to_have_count(2)
    expect(page.locator("#snap-grid figure[data-camera='west-gate'] figcaption")).to_contain_text("西门")
    expect(page.locator("#snap-grid figure[data-camera='east-gate'] .snap-missing")).to_be_visible()
    shots(page, "cameras-grid")
    page.click("#snap-grid figure[data-camera='west-gate']")
    expect(page.locator("#editor")).to_be_visible()
    assert wait_for(lambda: page.evaluate("document.getElementById('snapshot').naturalWidth") > 0)

    box = page.locator("#overlay").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    # two corners and Enter: refused, in Chinese, and still drawing
    page.click("#new-zone")
    page.mouse.click(*at(0.10, 0.60))
    page.mouse.click(*at(0.30, 0.60))
    page.keyboard.press("Enter")
    expect(page.locator("#editor-hint")).to_contain_text("至少需要 3 个顶点")
    expect(page.locator("#overlay g.zone")).to_have_count(1)
    # a third corner by double-click finishes it
    page.mouse.dblclick(*at(0.30, 0.90))
    expect(page.locator("#overlay g.zone")).to_have_count(2)
    expect(page.locator("#zone-form")).to_be_visible()
    page.fill("#z-id", "e2e-a")
    # one more by clicks and a double-click
    page.click("#new-zone")
    for fx, fy in [(0.50, 0.60), (0.70, 0.60), (0.70, 0.90)]:
        page.mouse.click(*at(fx, fy))
    page.mouse.dblclick(*at(0.50, 0.90))
    expect(page.locator("#overlay g.zone")).to_have_count(3)
    page.fill("#z-id", "e2e-b")
    page.keyboard.press("Escape")  # leave the id field
    page.mouse.click(*at(0.60, 0.75))
    expect(page.locator("#z-id")).to_have_value("e2e-b")
    # Backspace asks: dismissed keeps the zone, accepted removes it
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.keyboard.press("Backspace")
    expect(page.locator("#overlay g.zone")).to_have_count(3)
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.keyboard.press("Backspace")
    expect(page.locator("#overlay g.zone")).to_have_count(2)
    assert len(asked) == 2 and "e2e-b" in asked[0], asked
    page.click("#save-zones")
    expect(page.locator("#save-status")).to_contain_text("已保存")
    expect(item.locator(".zone-count")).to_contain_text("2 区域")
    zones = {z["id"] for z in desk.admin.get("/api/v1/cameras/west-gate/zones").json()}
    assert zones == {"walk-1", "e2e-a"}
    # a refused save (a bad zone id) reads in Chinese only
    page.mouse.click(*at(0.25, 0.65))  # inside the triangle e2e-a
    expect(page.locator("#z-id")).to_have_value("e2e-a")
    page.fill("#z-id", "坏 id!")
    page.click("#save-zones")
    expect(page.locator("#save-status")).to_contain_text("保存失败")
    assert not LATIN.search(page.locator("#save-status").inner_text()), page.locator("#save-status").inner_text()
    ctx.close()


@pytest.mark.timeout(200)
def test_history_names_rows_dates_and_labels(desk, browser):
    wang = token_client(desk.url, "wang", REVIEWER_PW)
    (one,) = wang.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"]
    r = wang.post(f"/api/v1/candidates/{one['id']}/decision", json={"decision": "reject", "reason": "duplicate",
                                                                   "note": "同一辆车"})
    assert r.status_code == 200, r.text
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "wang", REVIEWER_PW, "/history")
    rows = page.locator("#history-rows tr.pick")
    expect(rows.first).to_be_visible()
    n = rows.count()
    expect(rows.first.locator("td.place")).to_have_text("西门 / 西门人行道")
    rows.first.click()
    detail = page.locator("#history-rows tr.h-detail img.h-large")
    expect(detail).to_be_visible()
    assert "西门" in (detail.get_attribute("alt") or "")
    assert all((img.get_attribute("alt") or "").strip() for img in page.locator("#history-rows img").all())
    page.fill("#h-from", "2099-01-01")
    page.dispatch_event("#h-from", "change")
    expect(rows).to_have_count(0)
    expect(page.locator("#history-empty")).to_be_visible()
    page.fill("#h-from", "")
    page.dispatch_event("#h-from", "change")
    expect(rows).to_have_count(n)
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')].filter((e) =>
        !e.getAttribute('aria-label') && !e.closest('label') && !(e.id && document.querySelector(`label[for="${e.id}"]`)))
        .map((e) => e.id)""")
    assert unlabelled == [], unlabelled
    shots(page, "history-open")
    ctx.close()


@pytest.mark.timeout(200)
def test_supervisor_withdraws_a_notice_issued_in_error(desk, browser):
    """After the undo window the reviewer cannot take a warn back; an admin withdraws the notice with a
    reason on the enforcement page, and the case system hears of it (webhook + pull API status)."""
    wang = token_client(desk.url, "wang", REVIEWER_PW)
    (one,) = wang.post("/api/v1/candidates/claim", json={"count": 1}).json()["items"]
    assert wang.post(f"/api/v1/candidates/{one['id']}/decision", json={"decision": "warn"}).status_code == 200
    listed = wait_for(lambda: [n for n in desk.admin.get("/api/v1/notices").json()["items"]
                               if n["candidate_id"] == one["id"]], timeout=WINDOW + 30)
    ref = listed[0]["ref"]
    assert wang.post(f"/api/v1/candidates/{one['id']}/decision/undo").status_code == 409
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "admin", ADMIN_PW, "/enforcement")
    page.goto(desk.url + "/enforcement?ref=" + ref)
    expect(page.locator("#detail")).to_have_attribute("data-ref", ref)
    expect(page.locator("#d-withdraw")).to_be_visible()
    page.click("#btn-withdraw")  # no reason: refused in the page, nothing sent
    expect(page.locator("#toast .toast.warn").last).to_contain_text("撤回理由")
    assert desk.admin.get(f"/api/v1/notices/{ref}").json()["status"] == "open"
    page.fill("#withdraw-reason", "车辆为执法车，误判")
    page.click("#btn-withdraw")
    expect(page.locator("#d-status")).to_have_text("已撤回（误发）")
    expect(page.locator("#d-withdraw")).to_be_hidden()
    told = wait_for(lambda: [p for p in desk.receiver.accepted() if p["event"] == "notice.withdrawn"
                             and p["body"]["data"]["ref"] == ref])
    assert len(told) == 1 and told[0]["body"]["data"]["note"] == "车辆为执法车，误判"
    pulled = desk.admin.get("/api/v1/notices", params={"status": "withdrawn"}).json()["items"]
    assert ref in [n["ref"] for n in pulled]
    audit = desk.admin.get("/api/v1/audit", params={"limit": 200}).json()["items"]
    assert any(e["action"] == "notice.withdraw" and e["target_id"] == ref for e in audit)
    shots(page, "enforcement-withdrawn")
    ctx.close()


@pytest.mark.timeout(200)
def test_zone_on_the_frame_and_the_dumping_pair_full_size(desk, browser, vtest_path):
    """The main frame carries the candidate's zone; `b` puts a dumping's before and after side by side,
    each at least a third of the screen wide (not two 150 px thumbnails)."""
    (dump,) = seed_candidates(desk.db, desk.config.parent / "storage", real_frames(vtest_path, 3), 1,
                              violation="illegal_dumping", dumping_pair=True, t0=1_760_000_000.0)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, desk.url, "wang", REVIEWER_PW, "/queue")
    queue = page.locator("#queue")
    expect(queue).to_have_attribute("data-candidate", re.compile(r"\d+"))
    page.select_option("#f-violation", "illegal_dumping")
    expect(queue).to_have_attribute("data-candidate", str(dump))
    poly = page.locator("#ev-zone polygon")
    expect(poly).to_have_count(1)
    frame, zone = page.locator("#ev-main").bounding_box(), poly.bounding_box()
    # walk-1 spans x 0.83-0.95, y 0.05-0.20 of the frame
    assert abs((zone["x"] - frame["x"]) / frame["width"] - 0.83) < 0.02, (zone, frame)
    assert abs((zone["y"] - frame["y"]) / frame["height"] - 0.05) < 0.02, (zone, frame)
    page.keyboard.press("b")
    pair = page.locator("#ev-pair figure img")
    expect(pair).to_have_count(2)
    for img in pair.all():
        expect(img).to_be_visible()
        assert img.bounding_box()["width"] >= 1440 / 3 - 40, img.bounding_box()
        assert img.get_attribute("alt")
    a, b = (img.bounding_box() for img in pair.all())
    assert abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"]  # side by side
    expect(page.locator("#ev-pair figure").nth(0)).to_have_attribute("data-kind", "before")
    shots(page, "queue-dumping-pair")
    page.keyboard.press("b")
    expect(page.locator("#ev-pair")).to_be_hidden()
    ctx.close()
