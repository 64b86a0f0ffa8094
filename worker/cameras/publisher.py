"""Publishing camera events on the Redis Stream without ever holding up analysis.

Analysis puts events into a bounded buffer (VIGIL_EVENTS_BUFFER_MAX) and goes on; one thread
drains it in batches with `XADD … MAXLEN ~ VIGIL_EVENTS_MAXLEN`. While Redis is unreachable the
thread retries with a growing pause and the buffer keeps the newest events: the oldest are
dropped and counted on their camera (runtime `events_dropped`) and in the metrics. An event
that cannot be published at all (a payload that does not serialise) is dropped and counted
alike; once a camera's events have failed so PUBLISH_FAILURES_TOLERATED times in a row, the
runner is told (`broken`) and puts the camera in `error`. The thread itself never dies of one
camera's events.

Two fences keep a camera's events in generation order when it changes hands:
- before a batch, each event's camera must still be held by this runner under the event's
  generation, with a lease renewed recently (the runner's `gate`);
- in Redis itself, each XADD runs in a script that keeps the highest generation published per
  camera (`vigil:camera:{uuid}:generation`) and refuses an older one. Once a new holder has
  published its first event, nothing of an older generation can follow it, whatever the old
  holder's clock or buffer holds."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import redis

from shared.metrics import latency_bucket
from worker.cameras.events import BusEvent

logger = logging.getLogger(__name__)

BATCH = 200
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 2.0
# The generation fence outlives any lease by far; refreshed by every event of the camera.
FENCE_TTL_S = 7 * 24 * 3600
# One bad event may be a fluke of its payload; this many in a row is how the camera publishes.
PUBLISH_FAILURES_TOLERATED = 5

# KEYS: stream, fence; ARGV: generation, maxlen, fence TTL, then the entry's field/value pairs.
# Returns the entry id, or false when a newer generation has published already.
PUBLISH_SCRIPT = """
local generation = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if generation < fence then
    return false
end
if generation > fence then
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
else
    redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
"""


def fence_key(camera_uuid: UUID | str) -> str:
    """The highest lease generation that has published for the camera (runners only)."""
    return f"vigil:camera:{camera_uuid}:generation"


@dataclass
class BusFigures:
    """What the bus did since the last read, for the metrics, by camera uuid: `published` by
    (camera, event type), `latency` by (camera, bucket bound)."""

    published: Counter[tuple[str, str]] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    fenced: int = 0
    latency: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency_sum_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


class BusStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures = BusFigures()

    def published(self, event: BusEvent, latency_s: float) -> None:
        event.tally.add_published()
        camera = str(event.ref.camera_uuid)
        with self._lock:
            self._figures.published[camera, event.event_type] += 1
            self._figures.latency[camera, latency_bucket(latency_s)] += 1
            self._figures.latency_sum_s[camera] += latency_s

    def dropped(self, event: BusEvent) -> None:
        event.tally.add_dropped()
        with self._lock:
            self._figures.dropped[str(event.ref.camera_uuid)] += 1

    def fenced(self) -> None:
        with self._lock:
            self._figures.fenced += 1

    def take(self) -> BusFigures:
        with self._lock:
            figures, self._figures = self._figures, BusFigures()
        return figures


class EventBuffer:
    """First in, first out, bounded: when full, the oldest event makes room."""

    def __init__(self, capacity: int, stats: BusStats) -> None:
        self.capacity = capacity
        self.stats = stats
        self._events: deque[BusEvent] = deque()
        self._ready = threading.Condition()

    def put(self, event: BusEvent) -> None:
        with self._ready:
            self._events.append(event)
            self._trim()
            self._ready.notify()

    def put_back(self, events: list[BusEvent]) -> None:
        """A batch that could not be published goes back in front, as the oldest."""
        with self._ready:
            self._events.extendleft(reversed(events))
            self._trim()

    def _trim(self) -> None:
        while len(self._events) > self.capacity:
            self.stats.dropped(self._events.popleft())

    def take(self, limit: int, timeout_s: float) -> list[BusEvent]:
        with self._ready:
            if not self._events:
                self._ready.wait(timeout_s)
            batch: list[BusEvent] = []
            while self._events and len(batch) < limit:
                batch.append(self._events.popleft())
            return batch

    def wake(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._events)


class Publisher(threading.Thread):
    """Drains the buffer into the stream. `gate(event)` says whether the event's camera is
    still held under its generation; events it refuses are discarded, not published.
    `broken(event, reason)` hears of a camera whose events keep failing to publish."""

    def __init__(
        self,
        buffer: EventBuffer,
        client: redis.Redis,
        *,
        stream: str,
        maxlen: int,
        data_field: bool,
        gate: Callable[[BusEvent], bool],
        broken: Callable[[BusEvent, str], None] = lambda event, reason: None,
    ) -> None:
        super().__init__(name="event-publisher", daemon=True)
        self.buffer = buffer
        self.client = client
        self.stream = stream
        self.maxlen = maxlen
        self.data_field = data_field
        self.gate = gate
        self.broken = broken
        self._script = client.register_script(PUBLISH_SCRIPT)
        # Events of each camera that failed to publish in a row.
        self._failures: Counter[UUID] = Counter()
        self._stopping = threading.Event()
        self._drain_until = 0.0

    def stop(self, drain_s: float) -> None:
        """Publish what is buffered for up to `drain_s`, then end."""
        self._drain_until = time.monotonic() + drain_s
        self._stopping.set()
        self.buffer.wake()
        self.join(drain_s + 5.0)

    def run(self) -> None:
        pause = RETRY_FIRST_S
        while True:
            if self._stopping.is_set() and (
                not len(self.buffer) or time.monotonic() > self._drain_until
            ):
                return
            batch = self.buffer.take(BATCH, timeout_s=0.5)
            if not batch:
                continue
            try:
                self._publish(batch)
                pause = RETRY_FIRST_S
            except (redis.RedisError, OSError) as exc:
                self.buffer.put_back(batch)
                logger.warning(
                    "cannot publish %d camera events (%s); retrying in %.1fs",
                    len(batch), type(exc).__name__, pause,
                )  # fmt: skip
                if self._stopping.wait(pause) and time.monotonic() > self._drain_until:
                    return
                pause = min(pause * 2, RETRY_MAX_S)
            except Exception:
                # Not Redis being away: retrying the batch would fail the same way for ever.
                logger.exception("could not publish %d camera events; dropped", len(batch))
                for event in batch:
                    self.buffer.stats.dropped(event)

    def _publish(self, batch: list[BusEvent]) -> None:
        entries = [(event, args) for event in batch if (args := self._prepare(event)) is not None]
        if not entries:
            return
        with self.client.pipeline(transaction=False) as pipe:
            for event, args in entries:
                self._script(
                    keys=[self.stream, fence_key(event.ref.camera_uuid)], args=args, client=pipe
                )
            replies = pipe.execute()
        acknowledged = time.time()
        for (event, _), reply in zip(entries, replies, strict=True):
            if reply is None:
                self.buffer.stats.fenced()
            else:
                self.buffer.stats.published(event, acknowledged - event.captured_at)

    def _prepare(self, event: BusEvent) -> list[str | int] | None:
        """The script's arguments for the event; None when the gate refuses it or it cannot be
        published (then dropped, counted, and held against its camera)."""
        camera = event.ref.camera_uuid
        try:
            if not self.gate(event):
                self.buffer.stats.fenced()
                return None
            args: list[str | int] = [event.ref.generation, self.maxlen, FENCE_TTL_S]
            for name, value in event.fields(self.data_field).items():
                args += [name, value]
        except Exception as exc:
            logger.exception(
                "a %s event of camera %s cannot be published; dropped",
                event.event_type, event.ref.camera_id,
            )  # fmt: skip
            self.buffer.stats.dropped(event)
            self._failures[camera] += 1
            if self._failures[camera] == PUBLISH_FAILURES_TOLERATED:
                self.broken(event, f"its events cannot be published: {type(exc).__name__}: {exc}")
            return None
        self._failures.pop(camera, None)
        return args
