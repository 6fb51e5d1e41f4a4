"""Error responses: every malformed request gets a 4xx with a message that names the bad field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")


class ErrorOut(BaseModel):
    """An error: `detail` is one readable sentence."""

    detail: str = Field(description="What went wrong, phrased for the user.")


class FieldError(BaseModel):
    """One invalid value of a request."""

    field: str = Field(description="Where the bad value is, e.g. `query.limit` or `body.reason`.")
    message: str = Field(description="Why it is refused.")
    type: str = Field(description="Machine-readable error type (pydantic's).")


class ValidationErrorOut(BaseModel):
    """A request with invalid values (HTTP 422)."""

    detail: str = Field(description="All problems in one readable sentence.")
    errors: list[FieldError] = Field(description="Each problem separately.")


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err.get("type") == "extra_forbidden":
        msg = "unknown field (see /docs for the fields this request takes)"
    elif err.get("type") == "missing":
        msg = "required"
    elif "input" in err and err.get("type") not in ("json_invalid",) and not isinstance(err["input"], (dict, list)):
        shown = repr(err["input"])
        msg += f" (got {shown[:60]}{'…' if len(shown) > 60 else ''})"
    return msg


def validation_payload(errors: list[dict[str, Any]]) -> dict[str, Any]:
    items = [{"field": _field(tuple(e.get("loc", ()))), "message": _message(e), "type": str(e.get("type", ""))}
             for e in errors]
    detail = "invalid request: " + "; ".join(f"{i['field']}: {i['message']}" for i in items)
    return {"detail": detail, "errors": items}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_payload(list(exc.errors())), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        event(log, "request_failed", logging.ERROR, method=request.method, path=request.url.path,
              error=f"{type(exc).__name__}: {exc}")
        return JSONResponse({"detail": "internal error (logged)"}, status_code=500)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the usual error answers."""
    text = {
        401: "Not authenticated: log in (session cookie) or send `Authorization: Bearer <token>`.",
        403: "Authenticated, but this role may not do this (or the CSRF token is missing).",
        404: "No such object.",
        409: "Conflict with the current state (already decided, claimed by someone else, version moved).",
        429: "Too many failed attempts; wait and try again.",
    }
    out: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut, "description": text[c]} for c in codes}
    out[422] = {"model": ValidationErrorOut, "description": "A value of the request is invalid; `errors` names each."}
    return out
