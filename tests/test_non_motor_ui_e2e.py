"""Non-motor vehicle parking in the reviewers' pages, in a real headless Chromium against
`streetwarden serve` (no camera workers; candidates with evidence cut from real vtest frames):
the queue names it 非机动车乱停放 and filters by it, a warning through the real decision API
carries its GB/T 30428 code, and the statistics page counts it under its label in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from streetwarden.store.db import Database
from tests.review_support import real_frames, seed_candidates
from tests.ui_support import admin_with_reviewer, chromium, logged_in_page, serve, token_client, west_gate, write_config

ADMIN_PW = "admin-pass-nm-1"
REVIEWER_PW = "reviewer-pass-nm-1"


@pytest.mark.timeout(300)
def test_non_motor_parking_in_queue_and_stats(tmp_path, vtest_path):
    config = write_config(tmp_path, west_gate(vtest_path, """\
      - {id: bikes-1, name: 西门非机动车禁停区, kind: non_motor, polygon: [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]}
      - {id: walk-1, name: 西门人行道, kind: sidewalk, polygon: [[0.83, 0.05], [0.95, 0.05], [0.95, 0.20], [0.83, 0.20]]}
"""))
    with serve(config, ADMIN_PW, "--no-worker") as server, chromium() as browser:
        url = server.url
        admin_with_reviewer(url, ADMIN_PW, "li", REVIEWER_PW)
        db = Database(f"sqlite:///{tmp_path / 'sw.db'}")
        frames = real_frames(vtest_path, 2)
        bikes = seed_candidates(db, tmp_path / "storage", frames, 2, violation="non_motor_parking", zone="bikes-1")
        seed_candidates(db, tmp_path / "storage", frames, 1, t0=1_700_100_000.0)  # one car, to filter away
        li = token_client(url, "li", REVIEWER_PW)
        r = li.post(f"/api/v1/candidates/{bikes[0]}/decision", json={"decision": "warn"}, headers={"Idempotency-Key": "nm-1"})
        assert r.status_code == 200, r.text
        ref = {d["candidate_id"]: d for d in li.get("/api/v1/decisions").json()["items"]}[bikes[0]]["notice_ref"]
        notice = li.get(f"/api/v1/notices/{ref}").json()
        assert notice["violation"] == "non_motor_parking" and notice["violation_code"]["name"] == "非机动车乱停放"
        assert notice["grace_seconds"] == 1800

        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
        page, errors = logged_in_page(context, url, "li", REVIEWER_PW, "/queue")
        page.select_option("#f-violation", "non_motor_parking")
        expect(page.locator("#f-violation option[value=non_motor_parking]")).to_have_text("非机动车乱停放")
        expect(page.locator("#queue")).to_have_attribute("data-candidate", str(bikes[1]))
        expect(page.locator("#c-title")).to_contain_text("非机动车乱停放")
        page.goto(url + "/stats")
        rows = page.locator("#stats-rows tr[data-violation=non_motor_parking]")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text("非机动车乱停放")
        expect(rows.nth(0).locator('td[data-col="warned"]')).to_have_text("1")
        page.click("#lang-toggle")
        expect(rows.nth(0)).to_contain_text("Non-motor vehicle parking")
        page.click("#lang-toggle")
        context.close()
        assert not errors, errors
