"""Decoding in a thread of its own, ahead of the analysis: OpenCV's decoder releases the GIL,
so the next frames decode while the current one is inferred, tracked and recorded."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar, cast

T = TypeVar("T")

# Frames decoded ahead at most: enough to cover a slow frame, bounded so that a fast decoder
# does not fill memory with a video's frames (1280x720 is 2.7 MB each).
DEPTH = 4
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterator[T], depth: int = DEPTH) -> Generator[T]:
    """`items`, produced in a thread up to `depth` ahead. An exception the producer raises is
    raised here in its place; closing this generator stops the producer within one item."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:
            put(_Failed(exc))
            return
        finally:
            if stop.is_set():
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        put(_END)

    thread = threading.Thread(target=produce, name="decode-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()
