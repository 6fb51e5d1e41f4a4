"""Dependencies of the enforcement and integration routers, on the app's real authentication.

`current_user` is the signed-in user or bearer token (401 otherwise, CSRF-checked for browser
sessions); `require_role` adds the role check (403). Database and settings come from the app context.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from streetwarden.api.auth.service import Principal, current_principal
from streetwarden.store.db import Database
from streetwarden.config import Settings

ROLES = ("reviewer", "supervisor", "admin", "integration")


def current_user(principal: Principal = Depends(current_principal)) -> Principal:
    return principal


def require_role(*roles: str) -> Callable[..., Principal]:
    """Dependency: the caller, if their role is one of `roles`; 403 otherwise."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def check(user: Principal = Depends(current_user)) -> Principal:
        if getattr(user, "role", None) not in roles:
            raise HTTPException(status_code=403, detail=f"role '{user.role}' may not do this (needs one of: {', '.join(roles)})")
        return user

    return check


def get_db(request: Request) -> Database:
    return request.app.state.ctx.db


def get_settings(request: Request) -> Settings:
    return request.app.state.ctx.settings
