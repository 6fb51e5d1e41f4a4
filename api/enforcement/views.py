"""Routes for people: evidence bundles, supervisor decisions, plate corrections, shops, statistics.

The statistics page itself is static (review_ui/static/stats.html, served by api/pages.py) and reads
GET /api/v1/stats, so it shares the login redirect, the i18n and the style of the other pages.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from streetwarden.api.deps import Principal, get_db, get_settings, require_role
from streetwarden.api.errors import responses
from streetwarden.api.http_errors import http_errors
from streetwarden.api.integration.views import REF
from streetwarden.api.values import FIRST_DAY, LAST_DAY, MAX_ID, ViolationName
from streetwarden.store.bundles import build_bundle
from streetwarden.store.db import Database
from streetwarden.store.notice_schema import Case
from streetwarden.store.notices import case_json, notice_json, supervisor_decide, withdraw_notice
from streetwarden.store.plates import correct_plate
from streetwarden.store.shop_schema import Shop
from streetwarden.store.shops import list_shops, shop_json
from streetwarden.store.stats import daily_stats
from streetwarden.config import Settings

router = APIRouter(tags=["enforcement"])
PEOPLE = require_role("reviewer", "supervisor", "admin")
EVIDENCE_READERS = require_role("reviewer", "supervisor", "admin", "integration")


@router.get("/api/v1/notices/{ref}/bundle", summary="Evidence ZIP of a notice", response_class=Response,
            description="The notice's evidence pictures and its JSON record as a ZIP, with manifest.json listing the SHA-256 of every file.",
            responses={**responses(401, 403, 404), 200: {"content": {"application/zip": {}}, "description": "ZIP with manifest.json (SHA-256 of every file)"}})
def notice_bundle(ref: Annotated[str, REF], _: Principal = Depends(EVIDENCE_READERS), db: Database = Depends(get_db),
                  settings: Settings = Depends(get_settings)) -> Response:
    return _bundle(ref, "N", db, settings)


@router.get("/api/v1/cases/{ref}/bundle", summary="Evidence ZIP of a case", response_class=Response,
            description="The case's evidence pictures and its JSON record as a ZIP, with manifest.json listing the SHA-256 of every file.",
            responses={**responses(401, 403, 404), 200: {"content": {"application/zip": {}}, "description": "ZIP with manifest.json (SHA-256 of every file)"}})
def case_bundle(ref: Annotated[str, REF], _: Principal = Depends(EVIDENCE_READERS), db: Database = Depends(get_db),
                settings: Settings = Depends(get_settings)) -> Response:
    return _bundle(ref, "C", db, settings)


def _bundle(ref: str, kind: str, db: Database, settings: Settings) -> Response:
    if ref[3] != kind:
        raise HTTPException(404, f"{ref} is not a {'notice' if kind == 'N' else 'case'}")
    with http_errors(), db.session() as s:
        name, data = build_bundle(s, settings.storage_path, ref)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


class SupervisorDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["escalate", "cancel"] = Field(description="escalate: open a case; cancel: close the notice without one.")
    note: str | None = Field(default=None, max_length=2000, description="Why; kept with the notice or case.")


@router.post("/api/v1/notices/{ref}/supervisor-decision", responses=responses(
                 401, 403, 404, 409, t409="The notice is not awaiting a supervisor."), summary="Settle a notice that persisted after its grace period",
            description="escalate opens a case (returned) and closes the notice; cancel closes the notice without one (the notice is returned).")
def decide_notice(ref: Annotated[str, REF], body: SupervisorDecision, user: Principal = Depends(require_role("supervisor", "admin")),
                  db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    with http_errors(), db.session() as s:
        out = supervisor_decide(s, ref, body.action, user, settings, note=body.note)
        return case_json(s, out) if isinstance(out, Case) else notice_json(s, out)


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why the notice was issued in error; sent to the case system.")


@router.post("/api/v1/notices/{ref}/withdraw", summary="Withdraw a notice issued in error",
             description="After the reviewer's undo window, a supervisor or admin takes back an open notice: it closes "
             "as `withdrawn` with the reason (in `note`), the audit log records it and the case system gets a "
             "`notice.withdrawn` webhook; the pull API lists its new status. The notice is returned.",
             responses=responses(401, 403, 404, 409, t404="No such notice",
                                 t409="Not open (or still in its undo window)"))
def withdraw(ref: Annotated[str, REF], body: Withdrawal, user: Principal = Depends(require_role("supervisor", "admin")),
             db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    if ref[3] != "N":
        raise HTTPException(404, f"{ref} is not a notice")
    with http_errors(), db.session() as s:
        return notice_json(s, withdraw_notice(s, ref, user, settings, body.reason))


class PlateCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=2, max_length=16, description="The plate as the reviewer reads it, e.g. 粤B12345.")


@router.put("/api/v1/candidates/{candidate_id}/plate", responses=responses(401, 403, 404), summary="Correct the plate read by OCR",
            description="Replaces the plate of a candidate with the one a reviewer reads; it must be a mainland plate. Returns the stored plate.")
def put_plate(candidate_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the candidate.")], body: PlateCorrection, user: Principal = Depends(PEOPLE),
              db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    with http_errors(), db.session() as s:
        return correct_plate(s, candidate_id, body.text, user, settings)


@router.get("/api/v1/shops", responses=responses(401, 403), summary="Registered shops with their violations in the window and rating",
            description="Every registered shop with its zones, the number of out-of-shop violations in the last `window_days` days and the rating it gives.")
def get_shops(_: Principal = Depends(EVIDENCE_READERS), db: Database = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> list[dict[str, Any]]:
    with db.session() as s:
        return [shop_json(s, shop, settings.shop_rating) for shop in list_shops(s)]


@router.get("/api/v1/shops/{shop_id}", responses=responses(401, 403, 404), summary="One shop",
            description="A registered shop with its zones, violation count in the rating window and rating.")
def get_shop(shop_id: Annotated[str, Path(max_length=64, description="Id of the shop.")], _: Principal = Depends(EVIDENCE_READERS),
             db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    with db.session() as s:
        shop = s.get(Shop, shop_id)
        if shop is None:
            raise HTTPException(404, f"shop {shop_id} does not exist")
        return shop_json(s, shop, settings.shop_rating)


def _range(start: date | None, end: date | None, tz_offset: int) -> tuple[float, float]:
    tz = timezone(timedelta(minutes=tz_offset))
    today = datetime.now(tz).date()
    end = end or today
    start = start or max(FIRST_DAY, end - timedelta(days=29))
    if not FIRST_DAY <= start <= end <= LAST_DAY:
        raise HTTPException(422, f"from ({start}) must not be after to ({end}), both within {FIRST_DAY} to {LAST_DAY}")
    lo = datetime.combine(start, datetime.min.time(), tz).timestamp()
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz).timestamp()
    return lo, hi


def _stats(db: Database, start: date | None, end: date | None, tz: int, camera: str | None, violation: str | None) -> dict:
    lo, hi = _range(start, end, tz)
    with db.session() as s:
        out = daily_stats(s, lo, hi, tz_offset_minutes=tz, camera_id=camera, violation=violation)
    out["from"], out["to"] = datetime.fromtimestamp(lo, timezone(timedelta(minutes=tz))).date().isoformat(), \
        (datetime.fromtimestamp(hi, timezone(timedelta(minutes=tz))).date() - timedelta(days=1)).isoformat()
    return out


FromQ = Annotated[date | None, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY, description=f"First day (YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY}); default 29 days before `to`.")]
ToQ = Annotated[date | None, Query(alias="to", ge=FIRST_DAY, le=LAST_DAY, description=f"Last day (YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY}); default today.")]
TzQ = Annotated[int, Query(ge=-720, le=840, description="Time zone of the days in minutes east of UTC (China: 480).")]
CamQ = Annotated[str | None, Query(max_length=64, description="Only this camera.")]
VioQ = Annotated[ViolationName | None, Query(description="Only this violation type.")]


@router.get("/api/v1/stats", responses=responses(401, 403), summary="Per day / camera / violation: captured … closed without a case",
            description="Counts per day, camera and violation of the candidates captured in the days from `from` to `to` (inclusive, in time zone `tz`): captured, confirmed, rejected, warned, complied, escalated, cases and the share closed without a case; plus totals.")
def get_stats(start: FromQ = None, end: ToQ = None, tz: TzQ = 480, camera: CamQ = None, violation: VioQ = None,
              _: Principal = Depends(EVIDENCE_READERS), db: Database = Depends(get_db)) -> dict[str, Any]:
    return _stats(db, start, end, tz, camera, violation)
