"""Errors that carry an HTTP status: services raise them, one API handler renders them."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class GoneError(AppError):
    status_code = 410
    code = "gone"


class AuthenticationError(AppError):
    status_code = 401
    code = "not_authenticated"


class ForbiddenError(AppError):
    """The caller is known but may not do this (an API key without the scope, sign-up closed)."""

    status_code = 403
    code = "forbidden"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(AppError):
    status_code = 415
    code = "unsupported_media_type"


class UnprocessableError(AppError):
    status_code = 422
    code = "unprocessable"


class RateLimitedError(AppError):
    """Over a limit of `limit`; the client may try again in `retry_after` seconds, which the
    Retry-After and X-RateLimit-* headers tell it."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, limit: int, retry_after: int) -> None:
        super().__init__(
            detail,
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
            },
        )


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
