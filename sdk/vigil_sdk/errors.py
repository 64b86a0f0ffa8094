"""Errors the API answers, as exceptions: one class per status a caller handles differently,
each built from the API's `{"error": code, "detail": message, ...}` body."""

from __future__ import annotations

from typing import Any

import httpx

from vigil_sdk.models import JobStatus


class VigilError(Exception):
    """The API answered an error. `body` is the decoded JSON (or `{}`), with any extra fields the
    API sent (`fields` for validation errors, `jobs` for a batch none of whose files passed)."""

    def __init__(self, status_code: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status_code} {code}: {detail}")
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.body = body


class AuthenticationError(VigilError):
    """401: no credentials, or an expired/revoked token or API key."""


class NotFoundError(VigilError):
    """404: no such object, or one that belongs to someone else."""


class ConflictError(VigilError):
    """409: e.g. results of a job that has not completed, a duplicate, a limit reached."""


class GoneError(VigilError):
    """410: e.g. an annotated output deleted after its retention time."""


class ValidationError(VigilError):
    """422: bad input; `fields` names each offending field where the API said."""

    @property
    def fields(self) -> list[dict[str, Any]]:
        fields = self.body.get("fields")
        return fields if isinstance(fields, list) else []


class RateLimitedError(VigilError):
    """429: too many requests; try again after `retry_after` seconds (None if not said)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        body: dict[str, Any],
        retry_after: float | None,
    ) -> None:
        super().__init__(status_code, code, detail, body)
        self.retry_after = retry_after


class ServerError(VigilError):
    """5xx: the service failed or is unavailable."""


class JobTimeoutError(TimeoutError):
    """`wait()` gave up before the job finished; the job itself goes on."""

    def __init__(self, job_id: str, timeout: float, last: JobStatus | None) -> None:
        super().__init__(f"job {job_id} did not finish within {timeout:g}s")
        self.job_id = job_id
        self.last = last


_BY_STATUS: dict[int, type[VigilError]] = {
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: ValidationError,
}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def error_from_response(response: httpx.Response) -> VigilError:
    """The exception for an error response (its body must have been read)."""
    try:
        decoded = response.json()
    except ValueError:
        decoded = None
    body: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
    status = response.status_code
    code = str(body.get("error") or f"http_{status}")
    detail = str(body.get("detail") or response.text[:300] or response.reason_phrase)
    if status == 429:
        return RateLimitedError(status, code, detail, body, _retry_after(response))
    if status >= 500:
        return ServerError(status, code, detail, body)
    return _BY_STATUS.get(status, VigilError)(status, code, detail, body)


def raise_for_error(response: httpx.Response) -> None:
    if response.is_error:
        raise error_from_response(response)
