"""ASGI guards around the app: a request body size limit, and unexpected exceptions as clean 500s.

Both sit inside the security-header middleware, so their answers carry the same headers as every
other response. Starlette's own last-resort handler sits outside it and re-raises, after which
uvicorn closes the keep-alive connection; `CatchUnexpected` answers and keeps the connection usable.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streetwarden.api.errors import ApiError, error_body, unexpected

_JSON = [(b"content-type", b"application/json")]


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON, (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class HttpMiddleware:
    """Plain ASGI middleware (no per-request overhead) acting on HTTP requests; the rest passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes (server.max_body_bytes); send less, "
                         "e.g. fewer zones or polygon points per request", "body_too_large")


class BodyLimit(HttpMiddleware):
    """413 for a body over `limit` bytes: at once by Content-Length, else while it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            err = BodyTooLarge(self.limit)
            await _send_json(send, 413, error_body(413, err.detail, err.code))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)  # FastAPI re-raises HTTP errors met reading the body
            return message

        await self.app(scope, counted, send)


class CatchUnexpected(HttpMiddleware):
    """An exception no handler took: logged once with its traceback, answered as a JSON 500."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ApiError as err:  # e.g. BodyTooLarge raised where no exception handler runs
            if started:
                raise
            await _send_json(send, err.status_code, error_body(err.status_code, err.detail, err.code))
        except Exception as exc:  # noqa: BLE001 - the one place that answers for bugs
            unexpected(f"{scope.get('method')} {scope.get('path')}", exc)
            if started:  # half a response went out: nothing sound to add, uvicorn drops the connection
                raise
            await _send_json(send, 500, error_body(500, "internal error (logged); try again or report it"))
