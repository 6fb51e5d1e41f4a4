"""Routes: accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from sqlalchemy import select

from streetwarden.api.auth.models import UserOut
from streetwarden.api.auth.service import ADMINS, Principal, require
from streetwarden.api.context import AppContext, client_ip, get_ctx
from streetwarden.api.errors import responses
from streetwarden.api.users.models import USERNAME_PATTERN, UserIn, UserPatch
from streetwarden.api.users.service import AccountError, create_user, update_user
from streetwarden.store.audit import record
from streetwarden.store.users import User

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def _out(u: User) -> UserOut:
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role, active=u.active)


@router.get("", response_model=list[UserOut], responses=responses(401, 403), summary="List accounts",
            description="Every account with its role (admin only).")
def list_users(_: Principal = Depends(require(*ADMINS)), ctx: AppContext = Depends(get_ctx)) -> list[UserOut]:
    with ctx.db.session() as s:
        return [_out(u) for u in s.scalars(select(User).order_by(User.username)).all()]


@router.post("", response_model=UserOut, status_code=201, responses=responses(401, 403, 409), summary="Create an account",
             description="Adds an account with a role and a password (hashed with argon2id; admin only).")
def add_user(body: UserIn, request: Request, principal: Principal = Depends(require(*ADMINS)),
             ctx: AppContext = Depends(get_ctx)) -> UserOut:
    with ctx.db.session() as s:
        try:
            user = create_user(s, body.username, body.role.value, body.password, body.display_name)
        except AccountError as err:
            raise HTTPException(409, str(err)) from None
        record(s, "user.create", actor=principal.username, actor_id=principal.user_id, target_type="user",
               target_id=user.username, ip=client_ip(request), role=user.role)
        return _out(user)


@router.patch("/{username}", response_model=UserOut, responses=responses(401, 403, 404), summary="Change an account",
              description="Changes role, display name, password or active flag (admin only). A new password or "
              "disabling ends the account's sessions and tokens.")
def patch_user(body: UserPatch, request: Request,
               username: str = Path(pattern=USERNAME_PATTERN, description="Account name."),
               principal: Principal = Depends(require(*ADMINS)), ctx: AppContext = Depends(get_ctx)) -> UserOut:
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise HTTPException(404, f"no user '{username}'")
        update_user(s, user, role=body.role.value if body.role else None, active=body.active,
                    password=body.password, display_name=body.display_name)
        changed = sorted(k for k, v in body.model_dump().items() if v is not None)
        record(s, "user.update", actor=principal.username, actor_id=principal.user_id, target_type="user",
               target_id=username, ip=client_ip(request), changed=changed)
        return _out(user)
