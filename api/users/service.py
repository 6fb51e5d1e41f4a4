"""Creating and changing accounts (used by the API and by `streetwarden users`)."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from streetwarden.api.auth.security import MIN_PASSWORD, hash_password
from streetwarden.api.users.models import USERNAME_PATTERN
from streetwarden.store.users import AuthToken, Role, User


class AccountError(ValueError):
    """A rule of accounts was broken; the message says which."""


def create_user(s: Session, username: str, role: str, password: str, display_name: str | None = None) -> User:
    if not re.match(USERNAME_PATTERN, username):
        raise AccountError(f"username '{username}': use 1-64 letters, digits, '_', '.', '@' or '-'")
    try:
        role = Role(role).value
    except ValueError:
        raise AccountError(f"role '{role}': must be one of {', '.join(r.value for r in Role)}") from None
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    if s.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user '{username}' already exists")
    user = User(username=username, role=role, password_hash=hash_password(password), display_name=display_name, active=True)
    s.add(user)
    s.flush()
    return user


def update_user(s: Session, user: User, *, role: str | None = None, active: bool | None = None,
                password: str | None = None, display_name: str | None = None) -> User:
    if role is not None:
        user.role = Role(role).value
    if display_name is not None:
        user.display_name = display_name
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")
        user.password_hash = hash_password(password)
    if active is not None:
        user.active = active
    if password is not None or active is False:
        s.execute(delete(AuthToken).where(AuthToken.user_id == user.id))  # a new password ends old logins
    s.flush()
    return user


def count_users(s: Session) -> int:
    return len(s.scalars(select(User.id).limit(1)).all())
