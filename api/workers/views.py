"""Routes: GET /api/v1/workers (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from streetwarden.api.auth.service import ADMINS, Principal, require
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.api.errors import responses
from streetwarden.api.workers.models import WorkerOut, WorkersOut
from streetwarden.store.schema import Camera
from streetwarden.store.workers import service

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])


@router.get("", response_model=WorkersOut, responses=responses(401, 403), summary="Worker nodes",
            description="Every worker node seen in the last hour: host, version, state, capacity, load, the cameras "
            "it holds, lag and last heartbeat (admins).")
def list_workers(_: Principal = Depends(require(*ADMINS)), ctx: AppContext = Depends(get_ctx)) -> WorkersOut:
    with ctx.db.session() as s:
        at = service.db_now(s)
        owners = service.owners(s, at)
        by_node: dict[str, list[str]] = {}
        for cam, node in owners.items():
            by_node.setdefault(node, []).append(cam)
        rows = service.list_nodes(s, at)
        enabled = s.scalars(select(Camera.id).where(Camera.enabled.is_(True)).order_by(Camera.id)).all()
        return WorkersOut(workers=[WorkerOut(**service.node_json(r, at, by_node.get(r.id, []))) for r in rows],
                          unowned_cameras=[c for c in enabled if c not in owners])
