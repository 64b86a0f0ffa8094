"""The sign-in form (OAuth2's password grant): `username`, `password`, optionally `grant_type`
and `scope`, as `application/x-www-form-urlencoded` only.

Read here rather than by FastAPI's OAuth2PasswordRequestForm, which is a sync dependency (a
thread of the shared pool per sign-in) and also parses multipart bodies, whose file parts
Starlette spools to disk whatever their size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from api.auth.security import MAX_PASSWORD_LENGTH
from api.text import NUL, NUL_MESSAGE
from shared.errors import UnprocessableError, UnsupportedMediaTypeError

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_USERNAME_LENGTH = 320
# What OAuth2 clients (Swagger UI's "Authorize" among them) may send besides the credentials.
OPTIONAL_FIELDS = ("grant_type", "scope", "client_id", "client_secret")
MAX_OPTIONAL_LENGTH = 1024
MAX_FIELDS = 1 + 1 + len(OPTIONAL_FIELDS)

OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    # signin_form refuses any other field (422).
                    "additionalProperties": False,
                    "properties": {
                        "username": {
                            "type": "string",
                            "description": "the account's e-mail address",
                            "maxLength": MAX_USERNAME_LENGTH,
                        },
                        "password": {"type": "string", "format": "password"},
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "format": "password"},
                    },
                }
            }
        },
    }
}


@dataclass(frozen=True)
class SigninForm:
    username: str
    password: str

    @property
    def password_too_long(self) -> bool:
        return len(self.password) > MAX_PASSWORD_LENGTH


def _invalid(field: str, message: str) -> UnprocessableError:
    return UnprocessableError(
        f"{field}: {message}", extra={"fields": [{"field": field, "message": message}]}
    )


def _text(form: FormData, field: str) -> str | None:
    value = form.get(field)
    if value is not None and not isinstance(value, str):
        raise _invalid(field, "must be text")
    return value


def _required(form: FormData, field: str) -> str:
    value = _text(form, field)
    if value is None:
        raise _invalid(field, "Field required")
    return value


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def signin_form(request: Request) -> SigninForm:
    """The form's fields, checked; 415 for any other body type. A password that is too long
    is passed on (marked) so that the failed sign-in is answered and recorded as any other."""
    if _media_type(request) != FORM_TYPE:
        raise UnsupportedMediaTypeError(f"sign-in takes a form sent as {FORM_TYPE}")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    unknown = sorted(set(form.keys()) - {"username", "password", *OPTIONAL_FIELDS})
    if unknown:
        raise _invalid(unknown[0], "Extra inputs are not permitted")
    username, password = _required(form, "username"), _required(form, "password")
    if len(username) > MAX_USERNAME_LENGTH:
        raise _invalid("username", f"at most {MAX_USERNAME_LENGTH} characters")
    # The username reaches Postgres (the lookup, the audit record), which refuses NUL in text.
    if NUL in username:
        raise _invalid("username", NUL_MESSAGE)
    for field in OPTIONAL_FIELDS:
        value = _text(form, field)
        if value is not None and len(value) > MAX_OPTIONAL_LENGTH:
            raise _invalid(field, f"at most {MAX_OPTIONAL_LENGTH} characters")
    grant_type = _text(form, "grant_type")
    if grant_type not in (None, "password"):
        raise _invalid("grant_type", "must be 'password'")
    return SigninForm(username=username, password=password)
