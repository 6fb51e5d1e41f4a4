"""Error responses: every malformed request gets a 4xx with a message that names the bad field.

Every error body has one shape, `ErrorOut` (`detail` for people, `code` for programs), and a 422
adds `errors[]` (`ValidationErrorOut`); `document_errors` makes the OpenAPI document say so for
every route, so what a client is told is what it gets.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")

# the stable machine code of each status, unless the raiser names a more precise one
CODES: dict[int, str] = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_request",
    429: "too_many_attempts", 500: "internal_error",
}


class ErrorOut(BaseModel):
    """An error: `detail` is one readable sentence, `code` a stable machine-readable name."""

    detail: str = Field(description="What went wrong, phrased for the user.")
    code: str = Field(description="Stable machine-readable error code, e.g. not_found, conflict, "
                      "not_your_claim, body_too_large, invalid_request (for programs and translations).")


class FieldError(BaseModel):
    """One invalid value of a request."""

    field: str = Field(description="Where the bad value is, e.g. `query.limit` or `body.reason`.")
    message: str = Field(description="Why it is refused.")
    type: str = Field(description="Machine-readable error type (pydantic's).")


class ValidationErrorOut(ErrorOut):
    """A request with invalid values (HTTP 422)."""

    detail: str = Field(description="All problems in one readable sentence.")
    errors: list[FieldError] = Field(description="Each problem separately.")


class ApiError(StarletteHTTPException):
    """An HTTP error with a stable `code` more precise than its status (e.g. 403 not_your_claim)."""

    def __init__(self, status_code: int, detail: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code


def error_body(status: int, detail: object, code: str | None = None) -> dict[str, Any]:
    text = detail if isinstance(detail, str) else str(detail)
    body: dict[str, Any] = {"detail": text, "code": code or CODES.get(status, f"http_{status}")}
    if status == 422:  # a rule of ours refused a value: same shape as pydantic's 422
        body["errors"] = [{"field": "request", "message": text, "type": "value_error"}]
    return body


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
             for e in errors[:50]]
    detail = "invalid request: " + "; ".join(f"{i['field']}: {i['message']}" for i in items)
    return {"detail": detail, "code": CODES[422], "errors": items}


def install(app: FastAPI) -> None:
    """422 and HTTP errors as `ErrorOut`; unexpected exceptions are `guards.CatchUnexpected`'s."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_payload(list(exc.errors())), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, exc.detail, getattr(exc, "code", None)),
                            status_code=exc.status_code, headers=exc.headers)


def unexpected(request_line: str, exc: BaseException) -> None:
    """Log an unexpected exception once, with its traceback."""
    event(log, "request_failed", logging.ERROR, request=request_line, error=f"{type(exc).__name__}: {exc}",
          traceback="".join(traceback.format_exception(exc)))


_TEXT = {
    401: "Not authenticated: log in (session cookie) or send `Authorization: Bearer <token>`.",
    403: "Authenticated, but this role may not do this (or the CSRF token is missing).",
    404: "No such object.",
    409: "Conflict with the current state (already decided, claimed by someone else, version moved).",
    429: "Too many failed attempts; wait and try again.",
}


def responses(*codes: int, **texts: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the usual error answers; `texts` (e.g. `t404="..."`) says a route's own reason."""
    out: dict[int | str, dict[str, Any]] = {
        c: {"model": ErrorOut, "description": texts.get(f"t{c}", _TEXT[c])} for c in codes}
    out[422] = {"model": ValidationErrorOut, "description": "A value of the request is invalid; `errors` names each."}
    return out


_GENERIC = {
    "400": "The body could not be parsed (e.g. a broken form or multipart body).",
    "413": "The request body is larger than `server.max_body_bytes`.",
    "500": "Unexpected server error; it is logged with its traceback.",
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what every route really answers on errors: 422 is
    ValidationErrorOut (not FastAPI's HTTPValidationError), bodies can be 400/413, anything can be 500,
    and every authenticated route can be 401."""
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, ValidationErrorOut):
        out = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in out.pop("$defs", {}).items():
            comps.setdefault(name, sub)
        comps.setdefault(model.__name__, out)

    def ref(name: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    for item in schema.get("paths", {}).values():
        for op in item.values():
            answers = op.setdefault("responses", {})
            if "422" in answers:
                answers["422"]["content"] = ref("ValidationErrorOut")
            extra = ["500"] + (["400", "413"] if "requestBody" in op else [])
            if op.get("security"):
                extra.append("401")
            for code in extra:
                answers.setdefault(code, {"description": _GENERIC.get(code, _TEXT.get(int(code), "Error.")),
                                          "content": ref("ErrorOut")})
    text = str(schema.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}'" not in text:
            comps.pop(unused, None)
    return schema
