"""Worker metrics kept in Redis and exported by the API's `/metrics`.

Jobs run in many Celery processes, possibly on many hosts, that come and go; a registry in each
would need a scrape target per process and would lose its counts on every restart. Instead each
process adds its counts to a few Redis hashes (one pipeline per event) and the API turns the
hashes into Prometheus families at scrape time, so every worker adds up. Metrics never fail a
job: a Redis error is logged and that count is lost."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from shared.contracts import ALL_QUEUES
from shared.settings import get_settings

logger = logging.getLogger(__name__)

PREFIX = "vigil:metrics"
# Analysis speed in frames per second: a CPU worker does a few to a few dozen frames a second.
FPS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0)
INF = "+Inf"
SEPARATOR = "|"

JOBS = "jobs"
FRAMES = "frames"
FPS_BUCKET_COUNTS = "fps_buckets"
FPS_SUM = "fps_sum"
MODEL_LOAD = "model_load"
WEBHOOK_ATTEMPTS = "webhook_attempts"
HASHES = (JOBS, FRAMES, FPS_BUCKET_COUNTS, FPS_SUM, MODEL_LOAD, WEBHOOK_ATTEMPTS)


def fps_bucket(fps: float) -> str:
    """The upper bound of the histogram bucket `fps` falls in (stored non-cumulative)."""
    return next((str(bound) for bound in FPS_BUCKETS if fps <= bound), INF)


@dataclass(frozen=True)
class Snapshot:
    """Every stored metric, as read in one round trip. Hash fields are decoded strings."""

    hashes: dict[str, dict[str, float]]
    queue_depth: dict[str, int]


class MetricsStore:
    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _write(self, what: str, fill: Callable[[redis.client.Pipeline], object]) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                fill(pipe)
                pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("could not record the %s metric", what, exc_info=True)

    def record_job(
        self, kind: str, outcome: str, frames: int = 0, fps: float | None = None
    ) -> None:
        """A finished job: its outcome (completed/failed), frames analysed and speed."""

        def fill(pipe: redis.client.Pipeline) -> None:
            pipe.hincrby(self.key(JOBS), f"{kind}{SEPARATOR}{outcome}", 1)
            if frames:
                pipe.hincrby(self.key(FRAMES), kind, frames)
            if fps is not None:
                pipe.hincrby(self.key(FPS_BUCKET_COUNTS), f"{kind}{SEPARATOR}{fps_bucket(fps)}", 1)
                pipe.hincrbyfloat(self.key(FPS_SUM), kind, fps)

        self._write("job", fill)

    def record_model_load(self, model: str, seconds: float) -> None:
        self._write("model load", lambda pipe: pipe.hset(self.key(MODEL_LOAD), model, seconds))

    def record_webhook_attempt(self, outcome: str) -> None:
        self._write(
            "webhook attempt", lambda pipe: pipe.hincrby(self.key(WEBHOOK_ATTEMPTS), outcome, 1)
        )

    def read(self, queues: Sequence[str]) -> Snapshot:
        """The stored metrics and each queue's length; raises RedisError when Redis is down."""
        with self.client.pipeline(transaction=False) as pipe:
            for name in HASHES:
                pipe.hgetall(self.key(name))
            for queue in queues:
                pipe.llen(queue)
            replies = pipe.execute()
        hashes = {
            name: {field.decode(): float(value) for field, value in reply.items()}
            for name, reply in zip(HASHES, replies[: len(HASHES)], strict=True)
        }
        depths = dict(zip(queues, (int(n) for n in replies[len(HASHES) :]), strict=True))
        return Snapshot(hashes=hashes, queue_depth=depths)


def _split(field: str) -> list[str]:
    return field.split(SEPARATOR, 1)


def families(snapshot: Snapshot) -> list[Metric]:
    """The Prometheus families of a snapshot."""
    hashes = snapshot.hashes
    jobs = CounterMetricFamily(
        "vigil_jobs", "Jobs finished, by kind and outcome.", labels=["kind", "outcome"]
    )
    for field, value in sorted(hashes.get(JOBS, {}).items()):
        jobs.add_metric(_split(field), value)
    frames = CounterMetricFamily("vigil_frames_processed", "Frames analysed.", labels=["kind"])
    for kind, value in sorted(hashes.get(FRAMES, {}).items()):
        frames.add_metric([kind], value)
    fps = HistogramMetricFamily(
        "vigil_processing_fps", "Analysis speed of finished jobs (frames/s).", labels=["kind"]
    )
    counts: dict[str, dict[str, float]] = {}
    for field, value in hashes.get(FPS_BUCKET_COUNTS, {}).items():
        kind, bound = _split(field)
        counts.setdefault(kind, {})[bound] = value
    for kind, by_bound in sorted(counts.items()):
        cumulative, buckets = 0.0, []
        for bound in map(str, FPS_BUCKETS):
            cumulative += by_bound.get(bound, 0.0)
            buckets.append((bound, cumulative))
        buckets.append((INF, sum(by_bound.values())))
        fps.add_metric([kind], buckets, hashes.get(FPS_SUM, {}).get(kind, 0.0))
    model_load = GaugeMetricFamily(
        "vigil_model_load_seconds", "Seconds the last load of a model took.", labels=["model"]
    )
    for model, seconds in sorted(hashes.get(MODEL_LOAD, {}).items()):
        model_load.add_metric([model], seconds)
    webhooks = CounterMetricFamily(
        "vigil_webhook_attempts", "Webhook delivery attempts, by outcome.", labels=["outcome"]
    )
    for outcome, value in sorted(hashes.get(WEBHOOK_ATTEMPTS, {}).items()):
        webhooks.add_metric([outcome], value)
    depth = GaugeMetricFamily(
        "vigil_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
    )
    for queue, length in snapshot.queue_depth.items():
        depth.add_metric([queue], length)
    return [jobs, frames, fps, model_load, webhooks, depth]


class StoreCollector(Collector):
    """Reads the store (and the queue lengths) at each scrape."""

    def __init__(self, store: MetricsStore, queues: Sequence[str] = ALL_QUEUES) -> None:
        self.store = store
        self.queues = tuple(queues)

    def describe(self) -> Iterable[Metric]:
        # Lets the registry check names without a Redis round trip.
        return families(Snapshot(hashes={}, queue_depth={}))

    def collect(self) -> Iterable[Metric]:
        try:
            snapshot = self.store.read(self.queues)
        except (redis.RedisError, OSError):
            logger.warning("cannot read worker metrics from Redis; exporting without them")
            return []
        return families(snapshot)


@lru_cache
def _store(pid: int) -> MetricsStore:
    # One client per process: a client inherited across fork would share its sockets.
    return MetricsStore(redis.Redis.from_url(get_settings().redis_url, socket_timeout=2))


def record_job(kind: str, outcome: str, frames: int = 0, fps: float | None = None) -> None:
    _store(os.getpid()).record_job(kind, outcome, frames, fps)


def record_model_load(model: str, seconds: float) -> None:
    _store(os.getpid()).record_model_load(model, seconds)


def record_webhook_attempt(outcome: str) -> None:
    """One webhook delivery attempt: `succeeded`, `retry` or `failed`."""
    _store(os.getpid()).record_webhook_attempt(outcome)
