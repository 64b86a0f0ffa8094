"""The event stream as a consumer reads it: one thread XREADs every entry of the stream from the
start, and the goals wait on what has arrived. The entry id's milliseconds are when Redis added
the entry (XADD), on the same clock as the benchmark's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import redis

BLOCK_MS = 200


class NotSeen(Exception):
    """An awaited event did not come in time."""


@dataclass(frozen=True)
class Entry:
    id: str
    fields: dict[str, str]

    @property
    def type(self) -> str:
        return self.fields.get("event_type", "")

    @property
    def camera_uuid(self) -> str:
        return self.fields.get("camera_uuid", "")

    @property
    def generation(self) -> int:
        return int(self.fields.get("generation", "0"))

    @property
    def added_ms(self) -> int:
        return int(self.id.split("-")[0])

    @property
    def added_at(self) -> float:
        """When Redis added it, Unix time in seconds."""
        return self.added_ms / 1000

    @property
    def captured_ms(self) -> int:
        """The capture time the event carries (`timestamp`, ISO 8601 with ms), Unix ms."""
        moment = datetime.fromisoformat(self.fields["timestamp"].replace("Z", "+00:00"))
        return round(moment.timestamp() * 1000)

    @cached_property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.fields.get("payload", "{}"))
        return loaded

    def is_status(self, *states: str) -> bool:
        return self.type == "status" and self.payload.get("state") in states


Check = Callable[[Entry], bool]


class EventLog:
    def __init__(self, redis_url: str, stream: str) -> None:
        self.stream = stream
        self._client = redis.Redis.from_url(redis_url, decode_responses=True)
        self._entries: list[Entry] = []
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="event-log", daemon=True)
        self.error: Exception | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()

    def _read(self) -> None:
        last = "0-0"
        try:
            while not self._stop.is_set():
                answer: Any = self._client.xread({self.stream: last}, block=BLOCK_MS)
                for _, entries in answer or []:
                    batch = [Entry(entry_id, fields) for entry_id, fields in entries]
                    with self._arrived:
                        self._entries += batch
                        self._arrived.notify_all()
                    last = batch[-1].id
        except redis.RedisError as exc:
            self.error = exc
            with self._arrived:
                self._arrived.notify_all()

    def of(self, camera_uuid: str) -> list[Entry]:
        with self._arrived:
            return [e for e in self._entries if e.camera_uuid == camera_uuid]

    def wait(self, camera_uuid: str, check: Check, what: str, timeout_s: float) -> Entry:
        """The camera's first entry, among all read, that passes `check`."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._arrived:
            while True:
                for entry in self._entries[seen:]:
                    if entry.camera_uuid == camera_uuid and check(entry):
                        return entry
                seen = len(self._entries)
                if self.error is not None:
                    raise NotSeen(f"{what}: reading the stream failed ({self.error})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotSeen(f"no {what} within {timeout_s:g}s")
                self._arrived.wait(left)


def detection(entry: Entry) -> bool:
    return entry.type == "detection"


def after(moment: float, check: Check) -> Check:
    """`check`, for entries Redis added at or after `moment` (Unix time)."""
    return lambda entry: entry.added_ms >= int(moment * 1000) and check(entry)
