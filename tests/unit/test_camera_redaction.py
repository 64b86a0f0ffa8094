"""The runner's logging filter: no record leaves with URL credentials or a camera's password,
whether in the message, its arguments or a traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from worker.cameras.redaction import RedactingFilter

PASSWORD = "s3cret-Pass!"


@pytest.fixture
def output() -> Iterator[tuple[logging.Logger, io.StringIO, RedactingFilter]]:
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    log_filter = RedactingFilter()
    handler.addFilter(log_filter)
    logger = logging.getLogger("test.camera.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, text, log_filter
    logger.removeHandler(handler)


def test_url_credentials_and_known_passwords_are_redacted(
    output: tuple[logging.Logger, io.StringIO, RedactingFilter],
) -> None:
    logger, text, log_filter = output
    log_filter.remember(["cam-admin", PASSWORD, "abc"])
    logger.warning("opening %s", f"rtsp://cam-admin:{PASSWORD}@10.0.0.5/stream")
    logger.warning("the camera said: wrong password %s", PASSWORD)
    try:
        raise ConnectionRefusedError("rtsp://someone:other-pass@10.0.0.6/x: refused")
    except ConnectionRefusedError:
        logger.exception("capture failed")
    written = text.getvalue()
    assert PASSWORD not in written
    assert "other-pass" not in written
    assert "cam-admin" not in written
    assert "rtsp://***@10.0.0.5/stream" in written
    assert "rtsp://***@10.0.0.6/x: refused" in written  # the traceback too
    # Too short to tell from ordinary text: left alone (URL userinfo is redacted anyway).
    logger.warning("abc")
    assert text.getvalue().endswith("abc\n")
