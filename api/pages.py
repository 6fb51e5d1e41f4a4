"""HTML pages, static files, the API docs and health.

Everything needs a login except the login page (with the few files it loads) and health. Pages
redirect to /login when there is no session; static files and the OpenAPI document answer 401.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from streetwarden.api.auth.service import REVIEWERS, Principal, current_principal, identify
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.review_ui import STATIC_DIR

PUBLIC_STATIC = {"style.css", "i18n.js", "login.js", "common.js", "favicon.svg"}
PAGE_ROLES = {r.value for r in REVIEWERS}
router = APIRouter()


class Health(BaseModel):
    """Liveness of the server."""

    status: str = Field(description="'ok' when the database answers, else 'degraded'.")
    database: str = Field(description="'ok' or the error class.")
    worker: str = Field(description="'running', 'stopped' or 'none' (camera workers of this process).")


def _health(ctx: AppContext) -> Health:
    try:
        with ctx.db.session() as s:
            s.execute(text("SELECT 1"))
        db = "ok"
    except Exception as err:  # health must answer, whatever is wrong
        db = type(err).__name__
    w = ctx.worker
    worker = "none" if w is None else ("stopped" if w.stop_event.is_set() else "running")
    return Health(status="ok" if db == "ok" else "degraded", database=db, worker=worker)


@router.get("/healthz", response_model=Health, tags=["health"], summary="Health",
            description="Public: whether the server and its database answer.")
def healthz(ctx: AppContext = Depends(get_ctx)) -> Health:
    return _health(ctx)


@router.get("/api/v1/health", response_model=Health, tags=["health"], summary="Health (API path)",
            description="Same as /healthz.")
def health(ctx: AppContext = Depends(get_ctx)) -> Health:
    return _health(ctx)


def _page(name: str):  # type: ignore[no-untyped-def]
    def page(request: Request, ctx: AppContext = Depends(get_ctx)) -> Response:
        principal = identify(ctx, request)
        if principal is None:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if principal.role not in PAGE_ROLES:
            raise HTTPException(403, f"role '{principal.role}' has no access to the review pages")
        return FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})

    return page


for _path, _file in (("/queue", "queue.html"), ("/history", "history.html"), ("/cameras", "cameras.html"),
                     ("/enforcement", "enforcement.html"), ("/stats", "stats.html")):
    router.add_api_route(_path, _page(_file), methods=["GET"], include_in_schema=False)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "login.html", headers={"Cache-Control": "no-cache"})


@router.get("/docs", include_in_schema=False)
def docs_page(request: Request, ctx: AppContext = Depends(get_ctx)) -> Response:
    if identify(ctx, request) is None:
        return RedirectResponse("/login?next=/docs", status_code=303)
    return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Principal = Depends(current_principal)) -> JSONResponse:
    return JSONResponse(request.app.openapi())


class AuthStaticFiles(StaticFiles):
    """Static files that need a login, except the ones the login page itself loads."""

    def __init__(self, *args, public: set[str] | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.public = public or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.get_path(scope) not in self.public:
            request = Request(scope)
            ctx: AppContext = scope["app"].state.ctx
            principal = await anyio.to_thread.run_sync(identify, ctx, request)
            if principal is None:
                await JSONResponse({"detail": "not authenticated", "code": "not_authenticated"}, status_code=401)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", AuthStaticFiles(directory=STATIC_DIR, public=PUBLIC_STATIC), name="static")
    swagger = _swagger_dir()
    if swagger is not None:
        app.mount("/docs-static", AuthStaticFiles(directory=swagger), name="docs-static")


def _swagger_dir() -> Path | None:
    """Swagger UI files shipped by the fastapi-offline package (no CDN: the server may be offline)."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).resolve().parent / "static"
    return path if path.is_dir() else None
