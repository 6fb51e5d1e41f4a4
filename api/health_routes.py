"""Camera health and Prometheus metrics over HTTP.

``build_health_router(get_worker)`` gives two routes:
- ``GET /metrics``: Prometheus exposition text (per-camera gauges and counters, see pipeline/metrics.py);
- ``GET /api/v1/cameras/health``: JSON list of per-camera health, passwords masked.

Authentication is the app's: pass its dependency as ``auth`` (and ``metrics_auth`` for /metrics,
e.g. a bearer token for the Prometheus scraper), or override :func:`require_auth_placeholder` /
:func:`require_metrics_placeholder` with ``app.dependency_overrides``. The placeholders allow
every request, so an app that forgets to wire them is open: wire them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Response

from streetwarden.api.errors import responses
from streetwarden.pipeline.health import camera_health_snapshot
from streetwarden.pipeline.metrics import CONTENT_TYPE, metrics_text


def require_auth_placeholder() -> None:
    """Stand-in for the API's 'signed-in user' dependency (to be replaced when wiring the app)."""
    return None


def require_metrics_placeholder() -> None:
    """Stand-in for the scraper's authentication of /metrics (to be replaced when wiring the app)."""
    return None


def build_health_router(get_worker: Callable[[], Any], auth: Callable[..., Any] | None = None,
                        metrics_auth: Callable[..., Any] | None = None) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_auth or require_metrics_placeholder)])
    def metrics() -> Response:
        worker = get_worker()
        body = metrics_text(worker) if worker is not None else b""
        return Response(content=body, media_type=CONTENT_TYPE)

    @router.get("/api/v1/cameras/health", dependencies=[Depends(auth or require_auth_placeholder)],
                responses=responses(401, 403),
                summary="Health of every camera",
                description="Per-camera health of the running worker (connection state, frame rate, errors); stream passwords are masked. Empty when no worker runs.")
    def cameras_health() -> list[dict[str, Any]]:
        worker = get_worker()
        return camera_health_snapshot(worker) if worker is not None else []

    return router
