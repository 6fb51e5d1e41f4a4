"""Request and response bodies of the auth routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from streetwarden.store.users import Role


class LoginIn(BaseModel):
    """Browser login."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="Account name.")
    password: str = Field(min_length=1, max_length=1024, description="Password.")


class UserOut(BaseModel):
    """An account as the API shows it (never the password hash)."""

    id: int = Field(description="Account id.")
    username: str = Field(description="Account name.")
    display_name: str | None = Field(description="Name shown in the UI and the history.")
    role: Role = Field(description="reviewer, supervisor, admin or integration.")
    active: bool = Field(description="Disabled accounts cannot log in and their tokens stop working.")


class SessionOut(BaseModel):
    """The logged-in account and the CSRF token to send as `X-CSRF-Token` on state-changing requests."""

    user: UserOut = Field(description="Who is logged in.")
    csrf_token: str | None = Field(description="Send as the X-CSRF-Token header with POST/PUT/PATCH/DELETE "
                                   "when authenticated by the session cookie; null for bearer tokens.")
    expires_at: float = Field(description="Unix time when this session or token ends.")


class TokenOut(BaseModel):
    """OAuth2 password-flow token response."""

    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    token_type: str = Field(description="Always 'bearer'.")
    expires_in: int = Field(description="Seconds until the token expires.")
