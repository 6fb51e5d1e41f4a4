"""Bodies of the account routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from streetwarden.api.auth.security import MIN_PASSWORD
from streetwarden.store.users import Role

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class UserIn(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME_PATTERN, description="Account name: letters, digits, '_', '.', '@', '-'; at most 64.")
    role: Role = Field(description="reviewer, supervisor, admin or integration (bearer tokens only).")
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024, description=f"At least {MIN_PASSWORD} characters.")
    display_name: str | None = Field(default=None, max_length=200, description="Name shown in the UI and the history.")


class UserPatch(BaseModel):
    """Changes to an account; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = Field(default=None, description="New role.")
    active: bool | None = Field(default=None, description="false disables the account and ends its sessions and tokens.")
    password: str | None = Field(default=None, min_length=MIN_PASSWORD, max_length=1024, description="New password.")
    display_name: str | None = Field(default=None, max_length=200, description="New display name.")
