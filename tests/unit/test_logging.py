"""The API's log handler: the lines of one event-loop turn written together, at its end; lines
logged off the loop, and warnings, at once and in order."""

from __future__ import annotations

import asyncio
import io
import logging

from shared.logging import TurnBatchedStreamHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _logger() -> tuple[logging.Logger, CountingStream]:
    stream = CountingStream()
    handler = TurnBatchedStreamHandler()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"test.batched.{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, stream


def test_a_turns_lines_are_written_together_as_it_ends() -> None:
    logger, stream = _logger()

    async def turn() -> None:
        for n in range(3):
            logger.info("request %d", n)
        assert stream.getvalue() == ""
        await asyncio.sleep(0)
        assert stream.getvalue() == "request 0\nrequest 1\nrequest 2\n"

    asyncio.run(turn())
    assert stream.writes == 1


def test_warnings_and_lines_off_the_loop_are_written_at_once_in_order() -> None:
    logger, stream = _logger()

    async def turn() -> None:
        logger.info("first")
        logger.warning("second")
        assert stream.getvalue() == "first\nsecond\n"

    asyncio.run(turn())
    logger.info("third")
    assert stream.getvalue() == "first\nsecond\nthird\n"


def test_a_long_turn_is_written_in_writes_a_pipe_keeps_whole() -> None:
    """Under Docker the API's processes share one pipe: writes up to PIPE_BUF bytes are never
    interleaved with another process's."""
    logger, stream = _logger()
    line = "x" * 999

    async def turn() -> None:
        for _ in range(10):
            logger.info(line)

    asyncio.run(turn())
    assert stream.getvalue() == f"{line}\n" * 10
    # Four lines of 1,000 bytes a write.
    assert stream.writes == 3
