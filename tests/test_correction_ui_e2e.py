"""Correcting a candidate's box and class in the queue, in a real headless Chromium against
`streetwarden serve` (no camera worker; candidates with evidence cut from real vtest frames): `r` and
a mouse drag draw the box on the frame, `c` and a number key pick the class, the decision carries the
correction through the page outbox (kept in localStorage while the network is down) and the API
stores it; Esc cancels drawing and picking. Screenshots at 1440 / 1024 / 390 px go to test-artifacts/."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from streetwarden.store.db import Database
from tests.review_support import real_frames, seed_candidates
from tests.ui_support import REPO, admin_with_reviewer, chromium, logged_in_page, serve, west_gate, write_config
from tests.waiting import wait_for

ART = REPO / "test-artifacts" / "correction_ui"
ADMIN_PW = "admin-pass-fix-1"
REVIEWER_PW = "reviewer-pass-fix-1"
DRAG = ((0.20, 0.30), (0.60, 0.80))  # fractions of the picture: where the reviewer drags from and to


@pytest.mark.timeout(300)
def test_reviewer_draws_box_picks_class_and_decides(tmp_path, vtest_path):
    ART.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp_path, west_gate(vtest_path, """\
      - {id: walk-1, name: 西门人行道, kind: sidewalk, polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}
"""))
    with serve(config, ADMIN_PW, "--no-worker") as server, chromium() as browser:
        url = server.url
        admin = admin_with_reviewer(url, ADMIN_PW, "zhao", REVIEWER_PW)
        db = Database(f"sqlite:///{tmp_path / 'sw.db'}")
        first, second = seed_candidates(db, tmp_path / "storage", real_frames(vtest_path, 2), 2)
        choices = admin.get(f"/api/v1/candidates/{first}").json()["class_choices"]
        assert choices[0] == "truck" and "car" in choices

        page, errors = logged_in_page(browser, url, "zhao", REVIEWER_PW, "/queue", viewport={"width": 1440, "height": 900})
        queue = page.locator("#queue")
        expect(queue).to_have_attribute("data-candidate", str(first))
        expect(page.locator("#ev-main")).to_have_js_property("naturalWidth", 768)  # the frame has loaded

        # r, then drag with the mouse over the frame: the corrected box is drawn over it
        page.keyboard.press("r")
        expect(page.locator("#ev-frame")).to_have_class("ev-frame drawing")
        expect(page.locator("#draw-hint")).to_be_visible()
        box = page.locator("#ev-main").bounding_box()
        at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
        page.mouse.move(*at(*DRAG[0]))
        page.mouse.down()
        page.mouse.move(*at(0.4, 0.5), steps=5)
        expect(page.locator("#ev-fix rect.drawing")).to_have_count(1)  # the box follows the mouse
        page.mouse.move(*at(*DRAG[1]), steps=5)
        page.mouse.up()
        expect(page.locator("#ev-frame")).to_have_class("ev-frame")
        fix = page.locator("#ev-fix rect.ev-fix-box")
        expect(fix).to_have_count(1)
        drawn = fix.bounding_box()
        assert abs(drawn["x"] - at(*DRAG[0])[0]) < 3 and abs(drawn["y"] + drawn["height"] - at(*DRAG[1])[1]) < 3
        # c, then the number key of car
        page.keyboard.press("c")
        expect(page.locator("#class-picker")).to_be_visible()
        expect(page.locator("#class-list button")).to_have_count(len(choices))
        page.screenshot(path=str(ART / "01-class-picker-1440.png"))
        page.keyboard.press(str(choices.index("car") + 1))
        expect(page.locator("#class-picker")).to_be_hidden()
        expect(page.locator('dd[data-field="correction"]')).to_have_text("轿车 · 已重画目标框")
        page.screenshot(path=str(ART / "02-corrected-1440.png"))
        for width, height in ((1024, 768), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            expect(fix).to_be_visible()
            page.screenshot(path=str(ART / f"03-corrected-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})

        # warn while the network is down: the outbox in localStorage keeps the correction, and sends it later
        page.route("**/api/v1/candidates/*/decision", lambda route: route.abort())
        page.keyboard.press("1")
        expect(queue).to_have_attribute("data-candidate", str(second))
        expect(page.locator("#pending-list li")).to_have_count(1)
        expect(page.locator("#pending-list li")).to_contain_text("更正：轿车")
        [kept] = json.loads(page.evaluate("localStorage.getItem('sw_outbox_zhao')"))
        assert kept["id"] == first and kept["body"]["decision"] == "warn"
        assert kept["body"]["correction"]["label"] == "car"
        page.unroute("**/api/v1/candidates/*/decision")
        expect(page.locator("#pending-box")).to_be_hidden()  # the retry went through
        stored = wait_for(lambda: (admin.get(f"/api/v1/candidates/{first}").json().get("decision") or None),
                          timeout=30, step=0.3)
        assert stored and stored["decision"] == "warn" and stored["decided_by"] == "zhao"
        assert stored["correction"]["label"] == "car"
        for got, want in zip(stored["correction"]["box"], (*DRAG[0], *DRAG[1])):
            assert abs(got - want) < 0.01, stored["correction"]

        # Esc cancels drawing and picking: the next decision carries no correction
        expect(page.locator("#ev-main")).to_have_js_property("naturalWidth", 768)  # the frame has loaded
        page.keyboard.press("r")
        expect(page.locator("#ev-frame")).to_have_class("ev-frame drawing")
        page.keyboard.press("Escape")
        expect(page.locator("#ev-frame")).to_have_class("ev-frame")
        box = page.locator("#ev-main").bounding_box()
        page.mouse.move(box["x"] + 20, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + 200, box["y"] + 200, steps=4)
        page.mouse.up()
        expect(page.locator("#ev-fix rect")).to_have_count(0)
        page.keyboard.press("c")
        expect(page.locator("#class-picker")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#class-picker")).to_be_hidden()
        expect(page.locator('dd[data-field="correction"]')).to_have_count(0)
        page.keyboard.press("3")
        page.keyboard.press("1")
        plain = wait_for(lambda: (admin.get(f"/api/v1/candidates/{second}").json().get("decision") or None),
                         timeout=30, step=0.3)
        assert plain and plain["reason"] == "false_detection" and plain["correction"] is None
        # the key help lists the new keys
        page.keyboard.press("?")
        expect(page.locator("#help")).to_contain_text("更正目标框")
        page.keyboard.press("Escape")
        page.click("#lang-toggle")
        page.keyboard.press("?")
        expect(page.locator("#help")).to_contain_text("Correct the object's class")
        page.keyboard.press("Escape")
        page.click("#lang-toggle")
        assert not errors, errors
