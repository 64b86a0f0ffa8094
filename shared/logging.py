"""One logging setup for every process; records carry the job id where there is one."""

from __future__ import annotations

import asyncio
import logging
import select
from typing import TextIO

from shared.settings import get_settings

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


class TurnBatchedStreamHandler(logging.StreamHandler[TextIO]):
    """A StreamHandler that writes the lines logged during one turn of an event loop together,
    as the turn ends: the API logs a line per request (its access log), and under load a turn
    finishes several requests, which then cost one write instead of one each. Lines logged off
    the loop (worker threads), and warnings and worse, are written at once, after those
    waiting, so the order holds and nothing that explains a crash waits."""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # as StreamHandler does: a bad record is reported, never raised
            self.handleError(record)
            return
        self._waiting.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or record.levelno >= logging.WARNING:
            self.flush()
        elif len(self._waiting) == 1:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            # Up to PIPE_BUF bytes a write: the API's processes share one stderr, a pipe under
            # Docker, and only writes that small are never interleaved with another's.
            chunk: list[str] = []
            size = 0
            for line in self._waiting:
                length = len(line.encode())
                if chunk and size + length > select.PIPE_BUF:
                    self.stream.write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += length
            if chunk:
                self.stream.write("".join(chunk))
            self._waiting.clear()
        finally:
            self.release()
        super().flush()


def configure_logging(batched: bool = False) -> None:
    """`batched`: lines logged on the event loop are written a loop turn at a time
    (TurnBatchedStreamHandler); the API's setup."""
    handlers: list[logging.Handler] | None = [TurnBatchedStreamHandler()] if batched else None
    logging.basicConfig(level=get_settings().log_level.upper(), format=FORMAT, handlers=handlers)
    # The API's access log (api/observe.py) is the request record: kept whatever the level.
    logging.getLogger("vigil.access").setLevel(logging.INFO)
