"""Accounts and their credentials: users with a role, and opaque tokens (browser sessions and bearer
tokens) kept only as SHA-256 hashes, so a leaked database does not leak a usable credential."""

from __future__ import annotations

import hashlib
from enum import Enum

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from streetwarden.store.schema import Base, now


class Role(str, Enum):
    """What an account may do. integration = the case system: bearer tokens only, read-only here."""

    reviewer = "reviewer"
    supervisor = "supervisor"
    admin = "admin"
    integration = "integration"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255), doc="argon2id hash (argon2-cffi)")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


class AuthToken(Base):
    """A browser session (kind 'session', carries a CSRF token) or an API bearer token."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
