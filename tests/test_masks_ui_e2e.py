"""Masks in the zone editor, end to end in a real headless Chromium against `streetwarden serve` (API,
UI and camera worker in one process) on a clip of real footage with a burned-in date/time OSD: an
admin switches to masks, is told a two-corner mask is not enough, draws one, saves, reloads and sees
it; asks for suggestions, accepts the one over the clock, deletes the drawn mask with Backspace (asked
first), saves, and the running worker reloads the masks. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from playwright.sync_api import expect

from streetwarden.camera_adapters.video_file import VideoFileSource
from tests import scenes
from tests.ui_support import REPO, chromium, logged_in_page, serve, token_client, write_config
from tests.waiting import wait_for

ART = REPO / "test-artifacts" / "review_ui"
ADMIN_PW = "admin-pass-masks-1"
W, H = 768, 576
DRAWN = [(0.30, 0.60), (0.60, 0.60), (0.60, 0.80)]  # partly over the camera's zone


@pytest.fixture(scope="module")
def served(tmp_path_factory, vtest_path: Path):
    tmp = tmp_path_factory.mktemp("masks-e2e")
    clip = tmp / "osd.avi"
    source = VideoFileSource("osd", vtest_path, 2.0)
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 2, (W, H))
    for n, f in enumerate(source.frames()):
        if n >= 130:  # 65 s
            break
        out.write(scenes.burn_clock(f.ts, f.image))
    out.release()
    source.close()
    config = write_config(tmp, f"""\
  - id: osd-gate
    name: 东门（带时间叠加）
    source: {clip}
    analysis_fps: 2
    zones:
      - {{id: lawn, name: 草坪, kind: no_dumping, dwell_seconds: 30,
         polygon: [[0.05, 0.5], [0.5, 0.5], [0.5, 0.95], [0.05, 0.95]]}}
""", top="server: {snapshot_seconds: 1}\n")
    ART.mkdir(parents=True, exist_ok=True)
    with serve(config, ADMIN_PW, log_name="serve-masks.log") as server:
        yield {"url": server.url, "admin": token_client(server.url, "admin", ADMIN_PW), "log": server.log,
               "proc": server.proc}


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def reloaded(log: Path, version: int, masks: int) -> bool:
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return any(e.get("event") == "zones_reloaded" and e.get("camera") == "osd-gate" and e.get("version") == version
               and e.get("masks") == masks for e in lines)


@pytest.mark.timeout(420)
def test_admin_draws_a_mask_and_accepts_a_suggestion(served, browser):
    url, admin = served["url"], served["admin"]
    page, errors = logged_in_page(browser, url, "admin", ADMIN_PW, "/cameras", viewport={"width": 1440, "height": 900})
    page.wait_for_function("() => document.getElementById('snapshot').naturalWidth > 0", timeout=60_000)
    expect(page.locator("#overlay g.zone")).to_have_count(1)
    expect(page.locator("#overlay g.mask")).to_have_count(0)
    version = admin.get("/api/v1/cameras/osd-gate").json()["zones_version"]

    box = page.locator("#overlay").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.click("#layer-switch button[data-layer=mask]")
    expect(page.locator("#new-zone")).to_have_text("新建遮罩")
    expect(page.locator("#editor-hint")).to_contain_text("遮罩")
    page.click("#new-zone")
    for fx, fy in DRAWN[:2]:
        page.mouse.click(*at(fx, fy))
    page.keyboard.press("Enter")  # two corners: refused with a message, the points are kept
    expect(page.locator("#editor-hint")).to_contain_text("遮罩至少需要 3 个顶点（现在 2 个）")
    expect(page.locator("#overlay g.mask")).to_have_count(0)
    page.mouse.dblclick(*at(*DRAWN[2]))  # the third corner, and a double-click finishes
    expect(page.locator("#overlay g.mask")).to_have_count(1)
    expect(page.locator("#overlay g.zone")).to_have_count(1)
    page.screenshot(path=str(ART / "07-mask-drawn.png"))
    page.click("#save-zones")
    expect(page.locator("#save-status")).to_contain_text(f"已保存（版本 {version + 1}）")
    (drawn,) = admin.get("/api/v1/cameras/osd-gate/masks").json()["masks"]
    assert len(drawn) == 3 and all(abs(x - ex) < 0.01 and abs(y - ey) < 0.01 for (x, y), (ex, ey) in zip(drawn, DRAWN)), drawn
    assert [z["id"] for z in admin.get("/api/v1/cameras/osd-gate/zones").json()] == ["lawn"], "the zones are kept"

    page.reload()
    page.wait_for_function("() => document.getElementById('snapshot').naturalWidth > 0", timeout=60_000)
    expect(page.locator("#overlay g.mask")).to_have_count(1)  # shown (hatched) in the zone layer too
    points = page.locator("#overlay g.mask polygon").get_attribute("points")
    shown = [tuple(float(v) for v in p.split(",")) for p in points.split()]
    assert all(abs(x / W - ex) < 0.01 and abs(y / H - ey) < 0.01 for (x, y), (ex, ey) in zip(shown, DRAWN)), shown

    # English is complete for the new controls
    page.click("#lang-toggle")
    expect(page.locator("#suggest-masks")).to_have_text("Suggest masks")
    expect(page.locator("#layer-switch button[data-layer=mask]")).to_have_text("Masks")
    page.click("#lang-toggle")
    expect(page.locator("#suggest-masks")).to_have_text("建议遮罩")

    page.click("#suggest-masks")
    expect(page.locator("#proposals li")).to_have_count(1, timeout=240_000)
    expect(page.locator("#overlay g.mask.proposal")).to_have_count(1)
    page.screenshot(path=str(ART / "08-mask-suggested.png"))
    assert admin.get("/api/v1/cameras/osd-gate/masks").json()["masks"] == [drawn], "a suggestion is not saved by itself"
    page.click("#proposals .accept-proposal")
    expect(page.locator("#proposals")).to_be_hidden()
    expect(page.locator("#overlay g.mask:not(.proposal)")).to_have_count(2)

    # Backspace asks before deleting: dismissed first, then confirmed
    page.mouse.click(*at(0.5, 0.67))  # inside the drawn triangle (masks are being edited)
    expect(page.locator("#overlay g.mask.selected")).to_have_count(1)
    asked: list[str] = []

    def answer(accept: bool):  # type: ignore[no-untyped-def]
        def on(dialog) -> None:  # type: ignore[no-untyped-def]
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return on

    page.once("dialog", answer(False))
    page.keyboard.press("Backspace")
    expect(page.locator("#overlay g.mask:not(.proposal)")).to_have_count(2)
    page.once("dialog", answer(True))
    page.keyboard.press("Backspace")
    expect(page.locator("#overlay g.mask:not(.proposal)")).to_have_count(1)
    assert len(asked) == 2 and all("删除遮罩" in m for m in asked), asked
    page.click("#save-zones")
    expect(page.locator("#save-status")).to_contain_text(f"已保存（版本 {version + 2}）")

    (clock,) = admin.get("/api/v1/cameras/osd-gate/masks").json()["masks"]
    (x1, y1), _, (x2, y2), _ = clock
    sec = scenes.clock_seconds_box()
    assert x1 * W <= sec[0] and sec[2] <= x2 * W and y1 * H <= sec[1] + 4 and sec[3] - 4 <= y2 * H, (clock, sec)
    assert y2 < 0.15, "the mask lies over the OSD line at the top"
    assert wait_for(lambda: reloaded(served["log"], version + 2, 1), timeout=60, step=0.5), "the worker reloaded the masks"
    assert served["proc"].poll() is None
    page.screenshot(path=str(ART / "09-masks-saved.png"))
    assert not errors, errors
