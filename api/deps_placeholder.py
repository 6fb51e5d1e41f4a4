"""Stand-ins for the API's auth and app dependencies, so the enforcement and integration routers can
be built and tested before the real auth (issue 4) is merged.

Merge note for the lead: replace `current_user` with the real dependency that returns the signed-in
user or integration token (any object with `.username` and `.role`); `require_role` then checks the
real roles unchanged. The routers read the Database and Settings from `app.state.db` and
`app.state.settings`. Until replaced, every request is refused with 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from store.db import Database
from streetwarden.config import Settings

ROLES = ("reviewer", "supervisor", "admin", "integration")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (reviewer, supervisor, admin) or the case system's token (integration)."""

    username: str
    role: str


def current_user() -> Principal:
    """Placeholder: refuses everyone until the real auth dependency replaces it."""
    raise HTTPException(status_code=401, detail="not authenticated")


def require_role(*roles: str) -> Callable[..., Principal]:
    """Dependency: the caller, if their role is one of `roles`; 403 otherwise."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def check(user: Principal = Depends(current_user)) -> Principal:
        if getattr(user, "role", None) not in roles:
            raise HTTPException(status_code=403, detail=f"this needs one of the roles: {', '.join(roles)}")
        return user

    return check


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
