from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.auth.security import MAX_PASSWORD_LENGTH
from api.text import ShortText

PASSWORD = Field(min_length=8, max_length=MAX_PASSWORD_LENGTH)
# A refresh token is a JWT of a few hundred characters; anything far longer is not one.
MAX_TOKEN_LENGTH = 2048


class SignupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = PASSWORD
    full_name: ShortText | None = None
    invite_code: str | None = Field(
        default=None,
        max_length=200,
        description="required when the server only admits invited users (VIGIL_SIGNUP=invite)",
    )


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")


class TokenRefresh(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=MAX_TOKEN_LENGTH)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = PASSWORD


class BrowserSession(BaseModel):
    """A console sign-in or refresh: the access token only. The refresh token is in the
    `vigil_refresh` cookie, which page scripts cannot read."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")
