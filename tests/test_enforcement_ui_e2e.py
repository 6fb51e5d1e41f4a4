"""The notices & cases page and the statistics page in a real headless Chromium, against
`streetwarden serve` (a subprocess, temporary SQLite database, the vtest.avi camera configured).

Data is made the way production makes it: candidates with evidence cut from real vtest frames, a
reviewer's decisions through the real decision API (a notice, two cases, a reject), a plate correction,
and the case system's status changes (accepted, then closed with a result) with its integration token.
One notice is put in front of a supervisor by the store function the re-check calls when the violation
persisted (the re-check itself is tested in test_notice_loop.py); the server runs without camera
workers, so nothing else moves the records while the browser looks. Screenshots go to
test-artifacts/enforcement_ui/.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from streetwarden.store.db import Database
from streetwarden.store.notices import get_notice, persisted
from streetwarden.config import load_settings
from tests.review_support import real_frames, seed_candidates
from tests.ui_support import REPO, chromium, login, serve, token_client

ART = REPO / "test-artifacts" / "enforcement_ui"
ADMIN_PW = "admin-pass-enf-1"
REVIEWER_PW = "reviewer-pass-enf-1"
CASE_SYSTEM_PW = "case-system-pass-enf-1"
CHINA = timezone(timedelta(hours=8))
RESULT = "罚款 200 元"
RECHECK_NOTE = "复查时货车仍停在人行道"
SELECTED = re.compile(r"\bsel\b")


@pytest.fixture(scope="module")
def world(tmp_path_factory, vtest_path):
    tmp = tmp_path_factory.mktemp("enf-e2e")
    config = tmp / "streetwarden.yaml"
    config.write_text(f"""
database: sqlite:///sw.db
storage: storage
notices: {{on_persist: supervisor}}
server: {{undo_seconds: 0}}
cameras:
  - id: west-gate
    name: 西门
    source: {vtest_path}
    address: 示例路 1 号西门
    zones:
      - {{id: walk-1, name: 西门人行道, kind: sidewalk, dwell_seconds: 30,
         polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}}
""", encoding="utf-8")
    with serve(config, ADMIN_PW, "--no-worker") as server:
        url = server.url
        admin = token_client(url, "admin", ADMIN_PW)
        for name, role, pw in (("wang", "reviewer", REVIEWER_PW), ("case-system", "integration", CASE_SYSTEM_PW)):
            r = admin.post("/api/v1/users", json={"username": name, "role": role, "password": pw})
            assert r.status_code == 201, r.text
        db = Database(f"sqlite:///{tmp / 'sw.db'}")
        warn, case, case2, persist, reject = seed_candidates(db, tmp / "storage", real_frames(vtest_path, 3), 5)
        wang = token_client(url, "wang", REVIEWER_PW)
        assert wang.put(f"/api/v1/candidates/{warn}/plate", json={"text": "粤B12345"}).status_code == 200
        for cid, body in ((warn, {"decision": "warn", "note": "白色货车停在人行道"}), (case, {"decision": "case", "note": "堵塞盲道"}),
                          (case2, {"decision": "case"}), (persist, {"decision": "warn"}),
                          (reject, {"decision": "reject", "reason": "false_detection"})):
            r = wang.post(f"/api/v1/candidates/{cid}/decision", json=body, headers={"Idempotency-Key": f"enf-{cid}"})
            assert r.status_code == 200, r.text
        hist = {d["candidate_id"]: d for d in wang.get("/api/v1/decisions").json()["items"]}
        refs = {"notice": hist[warn]["notice_ref"], "case": hist[case]["case_ref"], "case2": hist[case2]["case_ref"],
                "persist": hist[persist]["notice_ref"]}
        assert all(refs.values()), hist
        # the re-check found the truck still there: with on_persist: supervisor the notice waits for one
        settings = load_settings(config)
        with db.session() as s:
            assert persisted(s, get_notice(s, refs["persist"]), settings, None, RECHECK_NOTE).status == "awaiting_supervisor"
        # the case system accepts the case, then closes it with a result
        cs = token_client(url, "case-system", CASE_SYSTEM_PW)
        r = cs.post(f"/api/v1/cases/{refs['case']}/status", json={"status": "accepted", "external_id": "CS-2024-0815", "note": "受理"})
        assert r.status_code == 200 and r.json()["changed"], r.text
        r = cs.post(f"/api/v1/cases/{refs['case']}/status", json={"status": "closed", "result": RESULT, "note": "已缴纳"})
        assert r.status_code == 200 and r.json()["case"]["status"] == "closed", r.text
        yield {"url": url, "admin": admin, "wang": wang, "cs": cs, "refs": refs,
               "candidates": {"warn": warn, "case": case, "case2": case2, "persist": persist, "reject": reject}}


@pytest.fixture(scope="module")
def browser():
    ART.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


@contextmanager
def signed_in(browser: Browser, url: str, user: str, password: str, path: str) -> Iterator[Page]:
    """A page in a browser set up like the bureau's (Chinese, China time), logged in through the login
    page on the way to `path`; the block fails if the page threw a script error."""
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1500, "height": 950}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  accept_downloads=True)
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, url, user, password, path)
        yield page
    finally:
        context.close()
    assert not errors, errors


def china_time(page: Page, iso: str) -> str:
    """An API time as a zh-CN reader in China sees it (the browser's own formatting, zone named)."""
    return page.evaluate("iso => new Date(iso).toLocaleString('zh-CN', {hour12: false, timeZone: 'Asia/Shanghai'})", iso)


@pytest.mark.timeout(120)
def test_pages_need_a_login(world, browser):
    url = world["url"]
    anon = httpx.Client(base_url=url, timeout=30)
    for path in ("/enforcement", "/stats"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}", (path, r.status_code, r.headers)
    assert anon.get("/static/enforcement.js").status_code == 401
    assert anon.get("/static/stats.js").status_code == 401
    assert anon.get(f"/api/v1/cases/{world['refs']['case']}/bundle").status_code == 401
    # an integration token is for the API, not the pages
    assert world["cs"].get("/enforcement", follow_redirects=False).status_code == 403
    with signed_in(browser, url, "wang", REVIEWER_PW, "/stats") as page:  # the login page sends the reviewer back to /stats
        expect(page.locator("nav a[data-page=stats]")).to_have_class("active")


@pytest.mark.timeout(300)
def test_case_closed_by_the_case_system_in_both_languages(world, browser):
    url, refs = world["url"], world["refs"]
    with signed_in(browser, url, "wang", REVIEWER_PW, "/enforcement") as page:
        expect(page.locator("nav a[data-page=enforcement]")).to_have_text("告知与案件")
        rows = page.locator("#record-rows tr")
        expect(rows).to_have_count(2)  # notices first
        page.keyboard.press("c")
        expect(page.locator("#tab-cases")).to_have_attribute("aria-selected", "true")
        # the case the case system just closed is the latest change: on top
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-ref", refs["case"])
        expect(rows.nth(1)).to_have_attribute("data-ref", refs["case2"])
        expect(rows.nth(0).locator(".badge")).to_have_text("已结案")
        expect(rows.nth(1).locator(".badge")).to_have_text("待受理")
        expect(rows.nth(0)).to_contain_text("西门")
        expect(rows.nth(0)).to_contain_text("示例路 1 号西门")
        expect(rows.nth(0)).to_contain_text(RESULT)
        # keyboard: j / k move the highlight, Enter opens the highlighted row
        expect(rows.nth(0)).to_have_class(SELECTED)
        page.keyboard.press("j")
        expect(rows.nth(1)).to_have_class(SELECTED)
        expect(rows.nth(0)).not_to_have_class(SELECTED)
        page.keyboard.press("Enter")
        expect(page.locator("#detail")).to_have_attribute("data-ref", refs["case2"])
        page.keyboard.press("k")
        page.keyboard.press("Enter")
        detail = page.locator("#detail")
        expect(detail).to_have_attribute("data-ref", refs["case"])
        expect(page.locator("#d-status")).to_have_text("已结案")
        expect(page.locator('dd[data-field="result"]')).to_have_text(RESULT)
        expect(page.locator('dd[data-field="external_id"]')).to_have_text("CS-2024-0815")
        expect(page.locator('dd[data-field="origin"]')).to_have_text("审核员建议立案")
        expect(page.locator('dd[data-field="label"]')).to_have_text("货车")
        history = page.locator("#d-history-rows tr")
        expect(history).to_have_count(3)
        assert [history.nth(i).get_attribute("data-to") for i in range(3)] == ["open", "accepted", "closed"]
        expect(history.nth(0).locator(".change")).to_have_text("待受理")
        expect(history.nth(1).locator(".change")).to_have_text("待受理 → 已受理")
        expect(history.nth(2).locator(".change")).to_have_text("已受理 → 已结案")
        expect(history.nth(0).locator(".by")).to_have_text("wang")
        expect(history.nth(0).locator(".source")).to_have_text("审核员")
        for i in (1, 2):
            expect(history.nth(i).locator(".source")).to_have_text("案件系统")
            expect(history.nth(i).locator(".by")).to_have_text("case-system")
        expect(history.nth(1).locator(".note")).to_have_text("受理")
        expect(history.nth(2).locator(".result")).to_have_text(RESULT)
        expect(history.nth(2).locator(".note")).to_have_text("已缴纳")
        # evidence thumbnails load through the session cookie
        thumbs = page.locator("#d-thumbs figure")
        expect(thumbs).to_have_count(2)
        page.wait_for_function("[...document.querySelectorAll('#d-thumbs img')].every((i) => i.complete && i.naturalWidth > 0)")
        page.wait_for_function("document.getElementById('d-ev-main').naturalWidth > 0")
        page.keyboard.press("e")
        expect(thumbs.nth(1)).to_have_class(re.compile(r"\bon\b"))
        expect(page.locator("#d-ev-label")).to_have_text("目标特写")
        page.screenshot(path=str(ART / "01-case-closed-zh.png"))

        # the status filter
        page.select_option("#f-status", "closed")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_have_attribute("data-ref", refs["case"])
        page.select_option("#f-status", "")
        expect(rows).to_have_count(2)

        # English
        page.click("#lang-toggle")
        expect(page.locator("nav a[data-page=enforcement]")).to_have_text("Notices & cases")
        expect(page.locator("#d-status")).to_have_text("Closed")
        expect(history.nth(1).locator(".change")).to_have_text("Open → Accepted")
        expect(history.nth(2).locator(".change")).to_have_text("Accepted → Closed")
        expect(history.nth(2).locator(".source")).to_have_text("Case system")
        expect(history.nth(2).locator(".result")).to_have_text(RESULT)
        expect(rows.nth(1).locator(".badge")).to_have_text("Open")
        page.keyboard.press("?")
        expect(page.locator("#help")).to_be_visible()
        expect(page.locator("#help")).to_contain_text("Download the evidence bundle")
        page.screenshot(path=str(ART / "02-case-closed-en.png"))
        page.keyboard.press("Escape")
        expect(page.locator("#help")).to_be_hidden()
        page.click("#lang-toggle")
        expect(page.locator("#d-status")).to_have_text("已结案")

        # the bundle link downloads the ZIP; its manifest lists every file with its hash
        bundle = page.locator("#d-bundle")
        expect(bundle).to_have_attribute("href", f"/api/v1/cases/{refs['case']}/bundle")
        with page.expect_download() as info:
            bundle.click()
        download = info.value
        assert download.suggested_filename == f"{refs['case']}.zip"
        zf = zipfile.ZipFile(download.path())
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["ref"] == refs["case"] and manifest["intact"] is True
        names = {f["name"] for f in manifest["files"]}
        assert names and set(zf.namelist()) == names | {"manifest.json"}
        assert {"crop", "frame", "record"} <= {f["kind"] for f in manifest["files"]}
        assert json.loads(zf.read("record.json"))["status"] == "closed"
        # the same link fetched with the page's cookies (and only with them)
        r = page.context.request.get(url + bundle.get_attribute("href"))
        assert r.status == 200 and r.headers["content-type"] == "application/zip"
        again = json.loads(zipfile.ZipFile(io.BytesIO(r.body())).read("manifest.json"))
        assert {f["name"] for f in again["files"]} == names


@pytest.mark.timeout(300)
def test_notices_show_status_deadline_and_plate(world, browser):
    url, refs, wang = world["url"], world["refs"], world["wang"]
    notice = wang.get(f"/api/v1/notices/{refs['notice']}").json()
    waiting = wang.get(f"/api/v1/notices/{refs['persist']}").json()
    assert notice["status"] == "open" and waiting["status"] == "awaiting_supervisor"
    issued = datetime.fromisoformat(notice["issued_at"].replace("Z", "+00:00"))
    deadline = datetime.fromisoformat(notice["deadline"].replace("Z", "+00:00"))
    assert notice["grace_seconds"] == 600 and abs((deadline - issued).total_seconds() - 600) < 0.01  # sidewalk parking
    with signed_in(browser, url, "wang", REVIEWER_PW, "/enforcement") as page:
        rows = page.locator("#record-rows tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-ref", refs["persist"])  # the re-check changed it last
        expect(rows.nth(0).locator(".badge")).to_have_text("待主管决定")
        expect(rows.nth(0).locator(".recheck")).to_have_text(RECHECK_NOTE)
        row = page.locator(f'#record-rows tr[data-ref="{refs["notice"]}"]')
        expect(row.locator(".badge")).to_have_text("整改期内")
        expect(row.locator(".deadline")).to_have_text(china_time(page, notice["deadline"]))
        expect(row.locator(".shop-plate")).to_have_text("粤B12345")
        row.click()  # a click opens it too
        expect(page.locator("#detail")).to_have_attribute("data-ref", refs["notice"])
        expect(page.locator("#d-status")).to_have_text("整改期内")
        expect(page.locator('dd[data-field="deadline"]')).to_have_text(china_time(page, notice["deadline"]))
        expect(page.locator('dd[data-field="issued_col"]')).to_have_text(china_time(page, notice["issued_at"]))
        expect(page.locator('dd[data-field="grace"]')).to_have_text("10 分钟")
        expect(page.locator('dd[data-field="plate"]')).to_have_text("粤B12345")
        expect(page.locator('dd[data-field="issued_by"]')).to_have_text("wang")
        expect(page.locator('dd[data-field="note_col"]')).to_have_text("白色货车停在人行道")
        expect(page.locator("#d-history-box")).to_be_hidden()  # notices have no case history
        expect(page.locator("#d-bundle")).to_have_attribute("href", f"/api/v1/notices/{refs['notice']}/bundle")
        page.screenshot(path=str(ART / "03-notice-zh.png"))
        # the waiting notice: a reviewer sees why, but cannot decide
        page.keyboard.press("k")
        page.keyboard.press("Enter")
        expect(page.locator("#detail")).to_have_attribute("data-ref", refs["persist"])
        expect(page.locator('dd[data-field="recheck_note"]')).to_have_text(RECHECK_NOTE)
        expect(page.locator("#d-sup-wait")).to_be_visible()
        expect(page.locator("#d-supervisor")).to_be_hidden()
        page.click("#lang-toggle")
        expect(page.locator("#d-status")).to_have_text("Awaiting supervisor")
        expect(row.locator(".badge")).to_have_text("Open (grace period)")
        page.screenshot(path=str(ART / "04-notices-en.png"))
        page.click("#lang-toggle")


@pytest.mark.timeout(300)
def test_stats_page_counts_what_was_decided(world, browser):
    url, wang = world["url"], world["wang"]
    api = wang.get("/api/v1/stats", params={"tz": 480}).json()
    # what the fixture made: 5 captured, 1 rejected, 2 warned (one waiting for a supervisor), 2 cases
    made = {"captured": 5, "confirmed": 4, "rejected": 1, "warned": 2, "complied": 0, "escalated": 0, "cases": 2,
            "share_closed_without_case": 0.0}
    assert {k: api["totals"][k] for k in made} == made, api["totals"]
    with signed_in(browser, url, "wang", REVIEWER_PW, "/stats") as page:
        for key, value in made.items():
            shown = "0%" if key == "share_closed_without_case" else str(value)
            expect(page.locator(f"#total-{key} b")).to_have_text(shown)
            expect(page.locator(f'#stats-total td[data-col="{key}"]')).to_have_text(shown)
        rows = page.locator("#stats-rows tr")
        expect(rows).to_have_count(len(api["rows"]))
        expect(rows.nth(0)).to_have_attribute("data-camera", "west-gate")
        expect(rows.nth(0)).to_contain_text("人行道违停")
        expect(rows.nth(0).locator('td[data-col="warned"]')).to_have_text(str(api["rows"][0]["warned"]))
        today = datetime.now(CHINA).date()
        expect(page.locator("#s-to")).to_have_value(today.isoformat())
        expect(page.locator("#s-from")).to_have_value((today - timedelta(days=29)).isoformat())
        expect(page.locator("#s-range")).to_contain_text("UTC+08:00")
        page.screenshot(path=str(ART / "05-stats-zh.png"))
        # filters: another violation has nothing; a range before today has nothing; last 7 days has it all
        page.select_option("#s-violation", "street_vendor")
        expect(page.locator("#total-captured b")).to_have_text("0")
        expect(page.locator("#stats-empty")).to_be_visible()
        expect(page).to_have_url(f"{url}/stats?from={(today - timedelta(days=29)).isoformat()}&to={today.isoformat()}&tz=480&violation=street_vendor")
        page.select_option("#s-violation", "")
        page.fill("#s-to", (today - timedelta(days=1)).isoformat())
        page.dispatch_event("#s-to", "change")
        expect(page.locator("#total-captured b")).to_have_text("0")
        page.click("button[data-days='7']")
        expect(page.locator("#total-captured b")).to_have_text("5")
        page.select_option("#s-camera", "west-gate")
        expect(page.locator("#total-cases b")).to_have_text("2")
        page.click("#lang-toggle")
        expect(page.locator("#total-captured span")).to_have_text("Captured")
        expect(page.locator("#stats-table thead")).to_contain_text("Closed without a case")
        expect(rows.nth(0)).to_contain_text("Sidewalk parking")
        page.screenshot(path=str(ART / "06-stats-en.png"))
        page.click("#lang-toggle")


@pytest.mark.timeout(300)
def test_supervisor_escalates_a_notice_that_persisted(world, browser):
    url, refs, admin = world["url"], world["refs"], world["admin"]
    with signed_in(browser, url, "admin", ADMIN_PW, "/enforcement") as page:
        page.goto(f"{url}/enforcement?ref={refs['persist']}")  # a link straight to one record
        expect(page.locator("#detail")).to_have_attribute("data-ref", refs["persist"])
        expect(page.locator("#d-supervisor")).to_be_visible()
        page.fill("#sup-note", "多次警告仍未驶离")
        page.click("#btn-escalate")
        expect(page.locator("#d-status")).to_have_text("已移送立案")
        link = page.locator('dd[data-field="to_case"] a')
        expect(link).to_have_text(re.compile(r"SW-C-\d{6}"))
        new_case = link.inner_text()
        assert new_case not in (refs["case"], refs["case2"])
        stored = admin.get(f"/api/v1/cases/{new_case}").json()
        assert stored["origin"] == "supervisor" and stored["notice_ref"] == refs["persist"] and stored["created_by"] == "admin"
        assert stored["note"] == "多次警告仍未驶离"
        assert admin.get(f"/api/v1/notices/{refs['persist']}").json()["status"] == "escalated"
        link.click()  # follows to the new case, on the cases tab
        expect(page.locator("#detail")).to_have_attribute("data-ref", new_case)
        expect(page.locator("#tab-cases")).to_have_attribute("aria-selected", "true")
        expect(page.locator('dd[data-field="origin"]')).to_have_text("主管移送立案")
        expect(page.locator("#record-rows tr").nth(0)).to_have_attribute("data-ref", new_case)
        opened = page.locator("#d-history-rows tr")
        expect(opened).to_have_count(1)
        expect(opened.locator(".source")).to_have_text("主管")
        expect(opened.locator(".by")).to_have_text("admin")
        expect(opened.locator(".note")).to_have_text("多次警告仍未驶离")
        page.screenshot(path=str(ART / "07-escalated.png"))


@pytest.mark.timeout(300)
def test_history_shows_what_each_decision_became(world, browser):
    url, refs, c = world["url"], world["refs"], world["candidates"]
    with signed_in(browser, url, "wang", REVIEWER_PW, "/history") as page:
        expect(page.locator("#history-rows tr")).to_have_count(5)
        closed = page.locator(f'#history-rows tr[data-candidate="{c["case"]}"] .issued [data-ref="{refs["case"]}"]')
        expect(closed).to_have_attribute("data-status", "closed")
        expect(closed).to_contain_text("已结案")
        warned = page.locator(f'#history-rows tr[data-candidate="{c["warn"]}"] .issued [data-ref="{refs["notice"]}"]')
        expect(warned).to_contain_text("整改期内")
        expect(page.locator(f'#history-rows tr[data-candidate="{c["reject"]}"] .issued')).to_have_text("")
        page.screenshot(path=str(ART / "08-history-refs.png"))
        closed.locator("a").click()
        expect(page).to_have_url(f"{url}/enforcement?tab=cases&ref={refs['case']}")
        expect(page.locator("#detail")).to_have_attribute("data-ref", refs["case"])
        expect(page.locator("#d-status")).to_have_text("已结案")
