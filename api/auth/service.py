"""Who is calling: logins, sessions, bearer tokens, CSRF and the role check.

A request is authenticated by `Authorization: Bearer <token>` (API clients) or by the signed
session cookie (browser). Cookie-authenticated requests that change state must also carry the
session's CSRF token in `X-CSRF-Token`; bearer requests need none (browsers never add them).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from streetwarden.api.auth.security import CookieSigner, new_token, verify_password
from streetwarden.api.context import AppContext, get_ctx
from streetwarden.store.users import AuthToken, Role, User, token_digest

SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_CACHE_SECONDS = 5.0

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


class _PrincipalCache:
    """A few seconds of memory per token, so the hot queue routes skip a database round trip."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        item = self._items.get(digest)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10000:
                self._items.clear()
            self._items[digest] = (time.monotonic() + _CACHE_SECONDS, principal)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


principal_cache = _PrincipalCache()


class LoginLimiter:
    """Refuses further logins of a username after too many failures in a window (in memory)."""

    def __init__(self, max_failures: int, window: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._fails: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, username: str) -> bool:
        with self._lock:
            q = self._fails.get(username.lower())
            if not q:
                return False
            while q and q[0] < time.monotonic() - self.window:
                q.popleft()
            return len(q) >= self.max_failures

    def failed(self, username: str) -> None:
        with self._lock:
            self._fails.setdefault(username.lower(), collections.deque()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(username.lower(), None)


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
    principal_cache.clear()


def purge_expired(s: Session) -> int:
    return s.execute(delete(AuthToken).where(AuthToken.expires_at < time.time())).rowcount


def _lookup(ctx: AppContext, raw: str, kind: str) -> Principal | None:
    digest = token_digest(raw)
    cached = principal_cache.get(digest)
    if cached is not None and cached.via == kind and cached.expires_at > time.time():
        return cached
    with ctx.db.session() as s:
        row = s.execute(
            select(AuthToken, User).join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_sha256 == digest, AuthToken.kind == kind)
        ).first()
    if row is None:
        return None
    tok, user = row
    if tok.expires_at <= time.time() or not user.active:
        return None
    principal = Principal(user.id, user.username, user.display_name, user.role, kind, tok.csrf, tok.expires_at)
    principal_cache.put(digest, principal)
    return principal


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
