"""Routes: browser login/logout, the OAuth2 password-flow token, and who am I."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response

from streetwarden.api.auth.models import LoginIn, SessionOut, TokenOut, UserOut
from streetwarden.api.auth import throttle
from streetwarden.api.auth.security import CookieSigner
from streetwarden.api.auth.service import (
    SESSION_COOKIE, Principal, authenticate, current_principal, issue, revoke, session_token,
)
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.errors import responses
from streetwarden.store.audit import record
from streetwarden.store.users import Role, User
from streetwarden.logs import event

log = logging.getLogger("streetwarden.api")
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _check_login(ctx: AppContext, request: Request, username: str, password: str, how: str) -> User:
    address = client_ip(request) or "unknown"
    attempt = throttle.begin(ctx, address, username)
    if isinstance(attempt, throttle.Refusal):
        event(log, "login_throttled", logging.WARNING, user=username, address=address, how=how, scope=attempt.scope,
              retry_after=attempt.retry_after)
        raise HTTPException(429, attempt.message, headers={"Retry-After": str(attempt.retry_after)})
    with ctx.db.session() as s:
        user = authenticate(s, username, password)
        if user is None:
            record(s, "auth.login_failed", actor=username, ip=address, how=how)
            event(log, "login_failed", logging.WARNING, user=username, address=address, how=how)
    if user is None:
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(ctx, attempt)
    return user


def _user_out(u: User) -> UserOut:
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role, active=u.active)


@router.post("/login", response_model=SessionOut, responses=responses(401, 403, 429),
             summary="Browser login",
             description="Checks the password and sets the session cookie (HttpOnly, SameSite=Strict; Secure when "
             "`server.secure_cookies`). Returns the CSRF token for state-changing requests. Integration "
             "accounts cannot log in here (403); they use /auth/token.")
def login(body: LoginIn, request: Request, response: Response, ctx: AppContext = Depends(get_ctx)) -> SessionOut:
    user = _check_login(ctx, request, body.username, body.password, "session")
    if user.role == Role.integration.value:
        raise HTTPException(403, "integration accounts use bearer tokens (POST /api/v1/auth/token), not browser logins")
    seconds = ctx.settings.server.session_hours * 3600
    with ctx.db.session() as s:
        raw, tok = issue(s, user, "session", seconds)
        record(s, "auth.login", actor=user.username, actor_id=user.id, ip=client_ip(request), how="session")
    response.set_cookie(SESSION_COOKIE, CookieSigner(ctx.secret).dumps(raw), max_age=int(seconds), httponly=True,
                        samesite="strict", secure=ctx.settings.server.secure_cookies, path="/")
    event(log, "login", user=user.username, role=user.role)
    return SessionOut(user=_user_out(user), csrf_token=tok.csrf, expires_at=tok.expires_at)


@router.post("/logout", status_code=204, responses=responses(401, 403), summary="Log out",
             description="Ends the browser session (or revokes the bearer token used) and clears the cookie.")
def logout(request: Request, response: Response, principal: Principal = Depends(current_principal),
           ctx: AppContext = Depends(get_ctx)) -> Response:
    raw = session_token(ctx, request) if principal.via == "session" else \
        request.headers.get("authorization", "").partition(" ")[2].strip()
    with ctx.db.session() as s:
        if raw:
            revoke(s, raw)
        record(s, "auth.logout", actor=principal.username, actor_id=principal.user_id, ip=client_ip(request))
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/token", response_model=TokenOut, responses=responses(401, 429), summary="Get a bearer token",
             description="OAuth2 password flow: form fields `username` and `password` "
             "(application/x-www-form-urlencoded). Any active account may get one; the token lasts "
             "`server.token_days`.")
def token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=64, description="Account name.")],
    password: Annotated[str, Form(min_length=1, max_length=1024, description="Password.")],
    grant_type: Annotated[str | None, Form(pattern="^password$", description="OAuth2 grant type; 'password' if sent.")] = None,
    ctx: AppContext = Depends(get_ctx),
) -> TokenOut:
    user = _check_login(ctx, request, username, password, "bearer")
    seconds = ctx.settings.server.token_days * 86400
    with ctx.db.session() as s:
        raw, _ = issue(s, user, "bearer", seconds)
        record(s, "auth.token", actor=user.username, actor_id=user.id, ip=client_ip(request))
    event(log, "token_issued", user=user.username, role=user.role)
    return TokenOut(access_token=raw, token_type="bearer", expires_in=int(seconds))


@router.get("/me", response_model=SessionOut, responses=responses(401), summary="Who am I",
            description="The authenticated account, and for browser sessions the CSRF token.")
def me(principal: Principal = Depends(current_principal)) -> SessionOut:
    return SessionOut(
        user=UserOut(id=principal.user_id, username=principal.username, display_name=principal.display_name,
                     role=principal.role, active=True),
        csrf_token=principal.csrf if principal.via == "session" else None, expires_at=principal.expires_at)
