"""Builds the FastAPI application: routers of every domain, error handlers, pages, headers."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Message, Receive, Scope, Send

from streetwarden.api import errors, pages
from streetwarden.api.guards import BodyLimit, CatchUnexpected, HttpMiddleware
from streetwarden.api.audit.views import router as audit_router
from streetwarden.api.auth.service import ADMINS, READERS, REVIEWERS, require
from streetwarden.api.auth.views import router as auth_router
from streetwarden.api.cameras.views import router as cameras_router
from streetwarden.api.candidates.views import router as candidates_router
from streetwarden.api.context import AppContext
from streetwarden.api.decisions.views import router as decisions_router
from streetwarden.api.enforcement.views import router as enforcement_router
from streetwarden.api.health_routes import build_health_router
from streetwarden.api.integration.views import router as integration_router
from streetwarden.api.live.views import router as live_router
from streetwarden.api.users.views import router as users_router
from streetwarden.api.workers.views import router as workers_router
from streetwarden.api.model_registry.views import router as models_router
from streetwarden.store.db import Database
from streetwarden.config import Settings

log = logging.getLogger("streetwarden.api")

DESCRIPTION = """StreetWarden's review API. Reviewers claim candidates (a lease), decide them (warn, case,
reject with a reason, or skip) and see the history; supervisors edit camera zones and read the audit log;
admins manage accounts; integration accounts (the case system) read with bearer tokens.

Authenticate with the browser session (POST /api/v1/auth/login, then send `X-CSRF-Token` on
state-changing requests) or with `Authorization: Bearer <token>` from POST /api/v1/auth/token."""

_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"), (b"content-security-policy", _CSP.encode())]


class SecurityHeaders(HttpMiddleware):
    """Adds the browser hardening headers to every response (plain ASGI: no per-request overhead)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + _HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _describe_forms(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's generated form bodies come without a description; give them one."""
    comps = schema.get("components", {}).get("schemas", {})
    for name, body in comps.items():
        if name.startswith("Body_"):
            body.setdefault("description", "Form fields.")
    return schema


def create_app(settings: Settings, db: Database, worker: Any | None = None, secret: str | None = None) -> FastAPI:
    """The web application over this database; `worker` (optional) reports camera health."""
    app = FastAPI(title="StreetWarden review API", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = AppContext(settings=settings, db=db, secret=secret or secrets.token_urlsafe(32), worker=worker)
    errors.install(app)
    # first, so /cameras/health is not taken for a camera id; camera health for signed-in staff; Prometheus scrapes /metrics with an admin or integration token
    app.include_router(build_health_router(lambda: app.state.ctx.worker, auth=require(*REVIEWERS),
                                           metrics_auth=require(*ADMINS, *[r for r in READERS if r.value == "integration"])))
    for router in (auth_router, users_router, candidates_router, decisions_router, cameras_router, audit_router,
                   integration_router, enforcement_router, live_router, workers_router, models_router, pages.router):
        app.include_router(router)
    pages.mount_static(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = errors.document_errors(_describe_forms(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # innermost first: the guards' answers pass through SecurityHeaders like every other response
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)
    app.add_middleware(CatchUnexpected)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """Factory for `serve` with several worker processes: each child builds its own app from the
    configuration file named in $STREETWARDEN_CONFIG (the parent put the shared secret in the environment)."""
    import os

    from streetwarden.config import load_settings
    from streetwarden.logs import setup_logging

    setup_logging(os.environ.get("STREETWARDEN_LOG_LEVEL", "INFO"))
    settings = load_settings(os.environ["STREETWARDEN_CONFIG"])
    db = Database(settings.database_url)
    return create_app(settings, db, secret=os.environ[settings.server.secret_env])
