"""Routes: GET /api/v1/models, POST /api/v1/models/{ref}/shadow|promote, POST /api/v1/models/rollback
(admins). The same rules and audit entries as the CLI (store/model_registry/service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from streetwarden.api.auth.service import ADMINS, Principal, require
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.api.errors import ApiError, responses
from streetwarden.api.model_registry.models import ModelsOut, ModelVersionOut, MoveIn, RollbackIn
from streetwarden.store.model_registry import service
from streetwarden.store.model_registry.cameras import camera_models

router = APIRouter(prefix="/api/v1/models", tags=["models"])
STATUS = {"model_not_registered": 404, "model_state": 409, "model_camera_unknown": 422, "model_ref_invalid": 422,
          "model_slot_unknown": 422, "model_slot_not_run": 422}
Ref = Annotated[str, Path(max_length=120, description="NAME@VERSION, e.g. garbage@2")]
ERRORS = responses(401, 403, 404, 409, t404="No such NAME@VERSION (code model_not_registered).",
                   t409="The move is not allowed from the version's state (code model_state).")


def _move(ctx: AppContext, fn) -> ModelVersionOut:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        try:
            row = fn(s, camera_models(s, ctx.settings))
        except service.RegistryError as err:
            raise ApiError(STATUS.get(err.code, 409), str(err), err.code) from None
        return ModelVersionOut(**service.as_json(row))


@router.get("", response_model=ModelsOut, responses=responses(401, 403), summary="Model registry",
            description="Every registered model version: state (candidate, shadow, active, retired), cameras, slot, "
            "file, sha256, metrics (admins). `streetwarden models list` shows the same.")
def list_models(_: Principal = Depends(require(*ADMINS)), ctx: AppContext = Depends(get_ctx)) -> ModelsOut:
    with ctx.db.session() as s:
        return ModelsOut(models=[ModelVersionOut(**service.as_json(r)) for r in service.versions(s)])


@router.post("/{ref}/shadow", response_model=ModelVersionOut, responses=ERRORS, summary="Shadow a model version",
             description="Run NAME@VERSION beside the active model of its slot on `cameras` (required; each must run "
             "the slot); its would-be candidates are recorded, never queued. Audited as model.shadow.")
def shadow(ref: Ref, body: MoveIn, me: Principal = Depends(require(*ADMINS)),
           ctx: AppContext = Depends(get_ctx)) -> ModelVersionOut:
    return _move(ctx, lambda s, known: service.shadow(s, ref, body.cameras or [], me.username,
                                                                   body.reason, known))


@router.post("/{ref}/promote", response_model=ModelVersionOut, responses=ERRORS, summary="Promote a model version",
             description="Make NAME@VERSION the active model of its slot on `cameras` (omitted: every camera; each "
             "named must run the slot); running workers switch between frames. Audited as model.promote.")
def promote(ref: Ref, body: MoveIn, me: Principal = Depends(require(*ADMINS)),
            ctx: AppContext = Depends(get_ctx)) -> ModelVersionOut:
    return _move(ctx, lambda s, known: service.promote(s, ref, body.cameras, me.username,
                                                                    body.reason, known))


@router.post("/rollback", response_model=ModelVersionOut, responses=ERRORS, summary="Roll back",
             description="Retire the version of `slot` active on exactly `cameras` (omitted: every camera) and bring "
             "back the one it replaced (none: the configuration's model). Answers the retired version. Audited as "
             "model.rollback.")
def rollback(body: RollbackIn, me: Principal = Depends(require(*ADMINS)),
             ctx: AppContext = Depends(get_ctx)) -> ModelVersionOut:
    def move(s, known):  # type: ignore[no-untyped-def]
        service.check_slot_key(body.slot, ctx.settings.models)
        return service.rollback(s, body.cameras, me.username, body.reason, known, body.slot)[0]

    return _move(ctx, move)
