"""A logging filter for the runner process: no record leaves it with URL credentials
(`rtsp://user:password@…`) or any camera credential the runner has decrypted, whatever library
wrote the message or the traceback (FFmpeg and PyAV quote the URL they failed to open)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from shared.cameras.source import redact

# Shorter values cannot be told apart from ordinary text; URL userinfo is redacted whatever
# its length.
MIN_SECRET_LENGTH = 4


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def remember(self, secrets: Iterable[str]) -> None:
        """Credentials of a camera this process opens: redacted from then on."""
        kept = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        with self._lock:
            self._secrets = self._secrets | kept

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        record.msg, record.args = redact(record.getMessage(), secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters use exc_text when it is set, so the traceback is printed redacted.
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install(log_filter: RedactingFilter) -> None:
    """On every handler of the root logger: a filter there sees the records of every logger."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_filter)
