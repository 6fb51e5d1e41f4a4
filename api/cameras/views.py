"""Routes: cameras, their snapshot, and zone editing (supervisors and admins)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select

from streetwarden.api.auth.service import REVIEWERS, SUPERVISORS, Principal, require
from streetwarden.api.cameras import service, suggest
from streetwarden.api.cameras.models import CameraOut, MaskSuggestionsOut, MasksIn, MasksOut, ZoneOut, ZonesIn
from streetwarden.api.candidates.service import names
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.errors import ApiError, responses
from streetwarden.api.values import ID_PATTERN, CameraId, bad_request_value
from streetwarden.store.audit import record
from streetwarden.store.cameras import row_masks
from streetwarden.store.schema import Camera
from streetwarden.store.workers import service as leases
from streetwarden.pipeline.mask_suggest import MAX_SECONDS, MIN_SECONDS
from streetwarden.config import MAX_ZONES_PER_CAMERA, ZoneConfig
from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")
router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])
ZoneId = Annotated[str, Path(pattern=ID_PATTERN, description="Zone id within the camera.")]


def _camera(s, camera_id: str) -> Camera:  # type: ignore[no-untyped-def]
    cam = s.get(Camera, camera_id)
    if cam is None:
        raise HTTPException(404, f"no camera '{camera_id}'")
    return cam


@router.get("", response_model=list[CameraOut], responses=responses(401, 403), summary="List cameras",
            description="Every camera with its zones, the worker node running it (`owner`) and (when this server runs it) stream health.")
def list_cameras(_: Principal = Depends(require(*REVIEWERS)), ctx: AppContext = Depends(get_ctx)) -> list[CameraOut]:
    with ctx.db.session() as s:
        owners = leases.owners(s, leases.db_now(s))
        return [service.camera_out(c, service.zones_of(s, c.id), ctx.worker, owners.get(c.id))
                for c in s.scalars(select(Camera).order_by(Camera.id)).all()]


@router.get("/{camera_id}", response_model=CameraOut, responses=responses(401, 403, 404), summary="One camera",
            description="A camera with its zones.")
def get_camera(camera_id: CameraId, _: Principal = Depends(require(*REVIEWERS)),
               ctx: AppContext = Depends(get_ctx)) -> CameraOut:
    with ctx.db.session() as s:
        cam = _camera(s, camera_id)
        owner = leases.owners(s, leases.db_now(s)).get(camera_id)
        return service.camera_out(cam, service.zones_of(s, camera_id), ctx.worker, owner)


@router.get("/{camera_id}/snapshot", response_class=FileResponse, responses={
    **responses(401, 403, 404), 200: {"content": {"image/jpeg": {}}, "description": "The latest analysed frame."}},
    summary="Latest snapshot", description="The camera's latest analysed frame (written by the worker every "
    "`server.snapshot_seconds`), or its latest evidence frame before the worker has written one.")
def snapshot(camera_id: CameraId, _: Principal = Depends(require(*REVIEWERS)),
             ctx: AppContext = Depends(get_ctx)) -> FileResponse:
    with ctx.db.session() as s:
        _camera(s, camera_id)
        path = service.snapshot_path(s, ctx.settings.storage_path, camera_id)
    if path is None:
        raise HTTPException(404, f"no snapshot of '{camera_id}' yet: the worker stores one every "
                            f"{ctx.settings.server.snapshot_seconds:g} s once the camera runs")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/{camera_id}/zones", response_model=list[ZoneOut], responses=responses(401, 403, 404),
            summary="Zones of a camera", description="The camera's zones as stored (fractions of the frame).")
def get_zones(camera_id: CameraId, _: Principal = Depends(require(*REVIEWERS)),
              ctx: AppContext = Depends(get_ctx)) -> list[ZoneOut]:
    with ctx.db.session() as s:
        _camera(s, camera_id)
        return [service.zone_out(z) for z in service.zones_of(s, camera_id)]


def _save(ctx: AppContext, request: Request, me: Principal, camera_id: str, action: str,
          change, expected: int | None = None, masks: list | None = None) -> CameraOut:  # type: ignore[no-untyped-def]
    """Apply `change(old_zones) -> new_zones` (None: zones kept) and/or replace the masks (None:
    kept), bump the version, audit; the worker reloads on its own."""
    with ctx.db.session() as s:
        cam = _camera(s, camera_id)
        old = service.zones_of(s, camera_id)
        old_masks = row_masks(cam)
        new = change(old)
        if new is not None and len(new) > MAX_ZONES_PER_CAMERA:
            raise ApiError(409, f"camera '{camera_id}' already has {len(old)} zones, the most a camera may have is "
                           f"{MAX_ZONES_PER_CAMERA}; delete or merge zones first", "too_many_zones")
        try:
            version = service.replace_zones(s, cam, new, expected, masks)
        except service.VersionMoved:
            raise HTTPException(409, f"the zones and masks of '{camera_id}' were changed by someone else (now version "
                                f"{cam.zones_version}); reload and edit again") from None
        except ValueError as err:
            raise bad_request_value("body.zones", str(err)) from None
        details: dict = {}
        if new is not None:
            details.update(before=[z.model_dump(mode="json") for z in old], after=[z.model_dump(mode="json") for z in new])
        if masks is not None:
            details.update(masks_before=[[list(p) for p in m] for m in old_masks], masks_after=[[list(p) for p in m] for m in masks])
        record(s, action, actor=me.username, actor_id=me.user_id, target_type="camera", target_id=camera_id,
               ip=client_ip(request), version=version, **details)
        names.clear()
        current = new if new is not None else old
        event(log, "zones_saved", camera=camera_id, version=version, zones=len(current), user=me.username,
              masks=len(masks) if masks is not None else len(old_masks))
        return service.camera_out(cam, current, ctx.worker)


@router.put("/{camera_id}/zones", response_model=CameraOut, responses=responses(401, 403, 404, 409),
            summary="Replace all zones", description="Stores exactly the given zones (each validated like the "
            "config file's zones), and the masks when `masks` is given, and bumps zones_version; the running worker "
            "picks them up within seconds.")
def put_zones(camera_id: CameraId, body: ZonesIn, request: Request, me: Principal = Depends(require(*SUPERVISORS)),
              ctx: AppContext = Depends(get_ctx)) -> CameraOut:
    return _save(ctx, request, me, camera_id, "zones.replace", lambda _old: list(body.zones), body.expected_version,
                 body.masks)


@router.post("/{camera_id}/zones", response_model=CameraOut, status_code=201, responses=responses(
                 401, 403, 404, 409, t409=f"A zone with this id exists, or the camera has {MAX_ZONES_PER_CAMERA} zones already."),
             summary="Add a zone", description="Adds one zone (409 if its id is taken).")
def add_zone(camera_id: CameraId, zone: ZoneConfig, request: Request, me: Principal = Depends(require(*SUPERVISORS)),
             ctx: AppContext = Depends(get_ctx)) -> CameraOut:
    def change(old: list[ZoneConfig]) -> list[ZoneConfig]:
        if any(z.id == zone.id for z in old):
            raise HTTPException(409, f"camera '{camera_id}' already has a zone '{zone.id}'")
        return [*old, zone]

    return _save(ctx, request, me, camera_id, "zone.create", change)


@router.put("/{camera_id}/zones/{zone_id}", response_model=CameraOut, responses=responses(401, 403, 404, 409),
            summary="Change a zone", description="Replaces one zone (the body's id may rename it).")
def put_zone(camera_id: CameraId, zone_id: ZoneId, zone: ZoneConfig, request: Request,
             me: Principal = Depends(require(*SUPERVISORS)), ctx: AppContext = Depends(get_ctx)) -> CameraOut:
    def change(old: list[ZoneConfig]) -> list[ZoneConfig]:
        if not any(z.id == zone_id for z in old):
            raise HTTPException(404, f"camera '{camera_id}' has no zone '{zone_id}'")
        if zone.id != zone_id and any(z.id == zone.id for z in old):
            raise HTTPException(409, f"camera '{camera_id}' already has a zone '{zone.id}'")
        return [zone if z.id == zone_id else z for z in old]

    return _save(ctx, request, me, camera_id, "zone.update", change)


@router.delete("/{camera_id}/zones/{zone_id}", status_code=204, responses=responses(401, 403, 404),
               summary="Delete a zone", description="Removes one zone; candidates it raised are kept.")
def delete_zone(camera_id: CameraId, zone_id: ZoneId, request: Request, me: Principal = Depends(require(*SUPERVISORS)),
                ctx: AppContext = Depends(get_ctx)) -> Response:
    def change(old: list[ZoneConfig]) -> list[ZoneConfig]:
        if not any(z.id == zone_id for z in old):
            raise HTTPException(404, f"camera '{camera_id}' has no zone '{zone_id}'")
        return [z for z in old if z.id != zone_id]

    _save(ctx, request, me, camera_id, "zone.delete", change)
    return Response(status_code=204)


@router.get("/{camera_id}/masks", response_model=MasksOut, responses=responses(401, 403, 404),
            summary="Masks of a camera", description="The camera's masks: polygons (fractions of the frame) where "
            "nothing is analysed (burned-in date/time text, a tree in the wind, a screen).")
def get_masks(camera_id: CameraId, _: Principal = Depends(require(*REVIEWERS)),
              ctx: AppContext = Depends(get_ctx)) -> MasksOut:
    with ctx.db.session() as s:
        cam = _camera(s, camera_id)
        return MasksOut(camera=camera_id, zones_version=cam.zones_version, masks=row_masks(cam))


@router.put("/{camera_id}/masks", response_model=MasksOut, responses=responses(401, 403, 404, 409),
            summary="Replace all masks", description="Stores exactly the given masks (3 to 100 corners each, "
            "coordinates 0-1) and bumps zones_version; the running worker applies them within seconds, without a "
            "restart. Audited as `masks.replace`.")
def put_masks(camera_id: CameraId, body: MasksIn, request: Request, me: Principal = Depends(require(*SUPERVISORS)),
              ctx: AppContext = Depends(get_ctx)) -> MasksOut:
    out = _save(ctx, request, me, camera_id, "masks.replace", lambda _old: None, body.expected_version, list(body.masks))
    return MasksOut(camera=camera_id, zones_version=out.zones_version, masks=out.masks)


@router.get("/{camera_id}/masks/suggestions", response_model=MaskSuggestionsOut, responses=responses(
                401, 403, 404, 409, t409="The stream cannot be read now, or a suggestion for this camera is running."),
            summary="Suggest masks", description="Reads the camera's stream for `seconds` (a file from its start, a "
            "live camera from now) and proposes masks over burned-in text that changes (date/time OSD). Only "
            "proposes: nothing is stored; save the ones that are right with PUT .../masks.")
def suggest_masks(camera_id: CameraId, seconds: float = Query(60.0, ge=MIN_SECONDS, le=MAX_SECONDS, description=(
                      f"Seconds of stream to read ({MIN_SECONDS:g}-{MAX_SECONDS:g}); the answer takes about as long "
                      "on a live camera.")),
                  _: Principal = Depends(require(*SUPERVISORS)), ctx: AppContext = Depends(get_ctx)) -> MaskSuggestionsOut:
    with ctx.db.session() as s:
        _camera(s, camera_id)
    out = suggest.suggestions(ctx.settings, ctx.db, ctx.worker, camera_id, seconds)
    event(log, "masks_suggested", camera=camera_id, seconds=out.seconds, frames=out.frames, masks=out.masks)
    return out
