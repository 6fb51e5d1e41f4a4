"""Who is calling: logins, sessions, bearer tokens, CSRF and the role check.

A request is authenticated by `Authorization: Bearer <token>` (API clients) or by the signed
session cookie (browser). Cookie-authenticated requests that change state must also carry the
session's CSRF token in `X-CSRF-Token`; bearer requests need none (browsers never add them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from streetwarden.api.auth.security import CookieSigner, new_token, verify_password
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.store.users import AuthToken, Role, User, token_digest

SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, scheme_name="bearer",
    description="Bearer token from POST /api/v1/auth/token (API clients and the case system).")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="session",
    description="Browser session cookie set by POST /api/v1/auth/login; state-changing requests also need "
    "the X-CSRF-Token header.")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    username: str
    display_name: str | None
    role: str
    via: str  # session | bearer
    csrf: str | None
    expires_at: float

    @property
    def name(self) -> str:
        return self.display_name or self.username


def authenticate(s: Session, username: str, password: str) -> User | None:
    user = s.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def issue(s: Session, user: User, kind: str, seconds: float) -> tuple[str, AuthToken]:
    """A new random session or bearer token; only its hash is stored."""
    raw = new_token()
    now = time.time()
    row = AuthToken(token_sha256=token_digest(raw), kind=kind, user_id=user.id,
                    csrf=new_token() if kind == "session" else None, created_at=now, expires_at=now + seconds)
    s.add(row)
    s.flush()
    return raw, row


def revoke(s: Session, raw: str) -> None:
    s.execute(delete(AuthToken).where(AuthToken.token_sha256 == token_digest(raw)))


def purge_expired(s: Session) -> int:
    return s.execute(delete(AuthToken).where(AuthToken.expires_at < time.time())).rowcount


_LOOKUP = (select(AuthToken.expires_at, AuthToken.csrf, User.id, User.username, User.display_name, User.role)
           .join(User, User.id == AuthToken.user_id)
           .where(AuthToken.token_sha256 == bindparam("digest"), AuthToken.kind == bindparam("kind"),
                  User.active.is_(True)))


def _lookup(ctx: AppContext, raw: str, kind: str) -> Principal | None:
    """The token's account, read from the database on every request (no cache): disabling an
    account, a new password or a logout ends its tokens at once in every process. One query on the
    unique token index plus the users primary key (see bench/bench_auth_lookup.py for its cost)."""
    with ctx.db.engine.connect() as conn:
        row = conn.execute(_LOOKUP, {"digest": token_digest(raw), "kind": kind}).first()
    if row is None or row.expires_at <= time.time():
        return None
    return Principal(row.id, row.username, row.display_name, row.role, kind, row.csrf, row.expires_at)


def session_token(ctx: AppContext, request: Request) -> str | None:
    """The raw session token from a validly signed cookie, if any."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    return CookieSigner(ctx.secret).loads(value, max_age=ctx.settings.server.session_hours * 3600)


def identify(ctx: AppContext, request: Request) -> Principal | None:
    """Bearer token first, then the session cookie; None when neither is valid."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return _lookup(ctx, value.strip(), "bearer")
    raw = session_token(ctx, request)
    return _lookup(ctx, raw, "session") if raw else None


def current_principal(
    request: Request,
    _bearer: str | None = Depends(bearer_scheme),
    _cookie: str | None = Depends(cookie_scheme),
    ctx: AppContext = Depends(get_ctx),
) -> Principal:
    """Dependency: the authenticated caller, else 401; CSRF-checked for cookie sessions."""
    principal = identify(ctx, request)
    if principal is None:
        raise HTTPException(401, "not authenticated: log in, or send Authorization: Bearer <token> "
                            "(POST /api/v1/auth/token)", headers={"WWW-Authenticate": "Bearer"})
    if principal.via == "session" and request.method not in SAFE_METHODS:
        from streetwarden.api.auth.security import same

        if not same(request.headers.get(CSRF_HEADER), principal.csrf):
            raise HTTPException(403, f"CSRF token missing or wrong: send the {CSRF_HEADER} header "
                                "(csrf_token from /api/v1/auth/me)")
    return principal


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must have one of these roles, else 403."""
    allowed = {r.value for r in roles}

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(403, f"role '{principal.role}' may not do this (needs {' or '.join(sorted(allowed))})")
        return principal

    return check


REVIEWERS = (Role.reviewer, Role.supervisor, Role.admin)
READERS = (Role.reviewer, Role.supervisor, Role.admin, Role.integration)
SUPERVISORS = (Role.supervisor, Role.admin)
ADMINS = (Role.admin,)
