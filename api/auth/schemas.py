from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.text import ShortText

PASSWORD = Field(min_length=8, max_length=128)


class SignupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = PASSWORD
    full_name: ShortText | None = None


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")


class TokenRefresh(BaseModel):
    refresh_token: str


class PasswordChange(BaseModel):
    current_password: str
    new_password: str = PASSWORD
