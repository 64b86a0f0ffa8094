"""Server-sent events, parsed line by line (the `text/event-stream` format of the HTML
standard), with each event's data decoded as JSON where it is JSON."""

from __future__ import annotations

import json
from typing import Any, TypedDict


class ServerEvent(TypedDict):
    event: str
    data: Any
    id: str | None


class SSEParser:
    """Feed it the stream's lines (without their line endings); it returns an event at each
    blank line that ends one."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # a comment: the server's keepalive
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> ServerEvent | None:
        # The standard drops an event without data; an `event: end` that carries none still
        # says something here, so an event with a name is kept.
        if not self._data and self._event is None:
            return None
        text = "\n".join(self._data)
        data: Any
        try:
            data = json.loads(text) if self._data else None
        except ValueError:
            data = text
        event = ServerEvent(event=self._event or "message", data=data, id=self._id)
        self._event, self._data = None, []
        return event
