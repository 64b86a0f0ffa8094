"""Worker and camera runner metrics kept in Redis and exported by the API's `/metrics`.

Jobs run in many Celery processes, possibly on many hosts, that come and go; a registry in each
would need a scrape target per process and would lose its counts on every restart. Instead each
process adds its counts to a few Redis hashes (one pipeline per event) and the API turns the
hashes into Prometheus families at scrape time, so every worker adds up. Metrics never fail a
job: a Redis error is logged and that count is lost.

Camera runners write the same way, every few seconds: their cameras' gauges (fps) and their
own load, each with the Unix time it was seen, and counters of what happened since the last
write, per camera (a deployment has few cameras, so a camera label keeps the hashes small).
Gauges not refreshed for STALE_S (a runner killed, a camera gone) are left out of the export."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
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
# Camera event latency, capture → XADD acknowledged, in seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)
INF = "+Inf"
SEPARATOR = "|"
# Camera and runner gauges older than this are a runner's that died: not exported.
STALE_S = 30.0

JOBS = "jobs"
FRAMES = "frames"
FPS_BUCKET_COUNTS = "fps_buckets"
FPS_SUM = "fps_sum"
MODEL_LOAD = "model_load"
WEBHOOK_ATTEMPTS = "webhook_attempts"
# Per camera `{uuid}|fps_in`, `{uuid}|fps_analysed` and `{uuid}|seen`; per runner
# `{id}|cameras`, `{id}|capacity` and `{id}|seen`. (Cameras by state are the API's, read from
# Postgres: vigil_cameras.)
CAMERAS = "cameras"
RUNNERS = "runners"
# `{uuid}|reconnects`, `{uuid}|stalls`.
CAMERA_COUNTS = "camera_counts"
# Per camera: `{uuid}|{event type}`, `{uuid}`, `{uuid}|{bucket bound}` and `{uuid}`. Named apart
# from the hashes that held the same counts for all cameras together, so that those are never
# read as a camera's.
EVENTS_PUBLISHED = "camera_events_published"
EVENTS_DROPPED = "camera_events_dropped"
LATENCY_BUCKET_COUNTS = "camera_event_latency_buckets"
LATENCY_SUM = "camera_event_latency_sum"
EVENTS_FENCED = "events_fenced"
# Per live view process `{id}|sessions` and `{id}|seen`; frames its sessions sent under ALL.
LIVE = "live"
LIVE_FRAMES = "live_frames"
HASHES = (
    JOBS, FRAMES, FPS_BUCKET_COUNTS, FPS_SUM, MODEL_LOAD, WEBHOOK_ATTEMPTS,
    CAMERAS, RUNNERS, CAMERA_COUNTS, EVENTS_PUBLISHED, EVENTS_DROPPED, EVENTS_FENCED,
    LATENCY_BUCKET_COUNTS, LATENCY_SUM, LIVE, LIVE_FRAMES,
)  # fmt: skip
ALL = "all"


def fps_bucket(fps: float) -> str:
    """The upper bound of the histogram bucket `fps` falls in (stored non-cumulative)."""
    return next((str(bound) for bound in FPS_BUCKETS if fps <= bound), INF)


def latency_bucket(seconds: float) -> str:
    return next((str(bound) for bound in LATENCY_BUCKETS if seconds <= bound), INF)


@dataclass(frozen=True)
class Snapshot:
    """Every stored metric, as read in one round trip. Hash fields are decoded strings."""

    hashes: dict[str, dict[str, float]]
    queue_depth: dict[str, int]
    taken_at: float = dataclasses.field(default_factory=time.time)


@dataclass(frozen=True)
class CameraGauges:
    camera_uuid: str
    fps_in: float
    fps_analysed: float


@dataclass(frozen=True)
class RunnerReport:
    """What a camera runner writes every few seconds: gauges as they are now, counts since the
    previous report. Counts are by camera uuid: `published` by (camera, event type),
    `latency_buckets` by (camera, bucket bound)."""

    runner_id: str
    capacity: int
    cameras: Sequence[CameraGauges]
    reconnects: Mapping[str, int] = dataclasses.field(default_factory=dict)
    stalls: Mapping[str, int] = dataclasses.field(default_factory=dict)
    published: Mapping[tuple[str, str], int] = dataclasses.field(default_factory=Counter)
    dropped: Mapping[str, int] = dataclasses.field(default_factory=Counter)
    fenced: int = 0
    latency_buckets: Mapping[tuple[str, str], int] = dataclasses.field(default_factory=Counter)
    latency_sum_s: Mapping[str, float] = dataclasses.field(default_factory=dict)


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

    def record_runner(self, report: RunnerReport) -> None:
        now = time.time()

        def fill(pipe: redis.client.Pipeline) -> None:
            gauges: dict[str, float] = {}
            for camera in report.cameras:
                prefix = f"{camera.camera_uuid}{SEPARATOR}"
                gauges |= {
                    f"{prefix}fps_in": camera.fps_in,
                    f"{prefix}fps_analysed": camera.fps_analysed,
                    f"{prefix}seen": now,
                }
            prefix = f"{report.runner_id}{SEPARATOR}"
            runner = {
                f"{prefix}cameras": len(report.cameras),
                f"{prefix}capacity": report.capacity,
                f"{prefix}seen": now,
            }
            for key, values in ((CAMERAS, gauges), (RUNNERS, runner)):
                for name, value in values.items():
                    pipe.hset(self.key(key), name, value)
            for name, counts in (("reconnects", report.reconnects), ("stalls", report.stalls)):
                for camera_uuid, count in counts.items():
                    pipe.hincrby(self.key(CAMERA_COUNTS), f"{camera_uuid}{SEPARATOR}{name}", count)
            for (camera_uuid, event_type), count in report.published.items():
                pipe.hincrby(
                    self.key(EVENTS_PUBLISHED), f"{camera_uuid}{SEPARATOR}{event_type}", count
                )
            for camera_uuid, count in report.dropped.items():
                pipe.hincrby(self.key(EVENTS_DROPPED), camera_uuid, count)
            if report.fenced:
                pipe.hincrby(self.key(EVENTS_FENCED), ALL, report.fenced)
            for (camera_uuid, bound), count in report.latency_buckets.items():
                pipe.hincrby(
                    self.key(LATENCY_BUCKET_COUNTS), f"{camera_uuid}{SEPARATOR}{bound}", count
                )
            for camera_uuid, seconds in report.latency_sum_s.items():
                pipe.hincrbyfloat(self.key(LATENCY_SUM), camera_uuid, seconds)

        self._write("camera runner", fill)

    def forget_cameras(self, camera_uuids: Iterable[str], runner_id: str | None = None) -> None:
        """Gauges of cameras a runner stopped (and of the runner itself, when it stops)."""
        fields = [
            f"{camera_uuid}{SEPARATOR}{name}"
            for camera_uuid in camera_uuids
            for name in ("fps_in", "fps_analysed", "seen")
        ]

        def fill(pipe: redis.client.Pipeline) -> None:
            if fields:
                pipe.hdel(self.key(CAMERAS), *fields)
            if runner_id is not None:
                names = ("cameras", "capacity", "seen")
                pipe.hdel(self.key(RUNNERS), *(f"{runner_id}{SEPARATOR}{n}" for n in names))

        self._write("camera runner", fill)

    def record_live(self, process_id: str, sessions: int, frames_sent: int) -> None:
        """A live view process's open sessions now, and the frames they sent since its last
        report."""
        now = time.time()

        def fill(pipe: redis.client.Pipeline) -> None:
            prefix = f"{process_id}{SEPARATOR}"
            pipe.hset(self.key(LIVE), mapping={f"{prefix}sessions": sessions, f"{prefix}seen": now})
            if frames_sent:
                pipe.hincrby(self.key(LIVE_FRAMES), ALL, frames_sent)

        self._write("live view", fill)

    def forget_live(self, process_id: str) -> None:
        fields = [f"{process_id}{SEPARATOR}{name}" for name in ("sessions", "seen")]
        self._write("live view", lambda pipe: pipe.hdel(self.key(LIVE), *fields))

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


def _cumulative(bounds: Sequence[float], by_bound: Mapping[str, float]) -> list[tuple[str, float]]:
    """Prometheus buckets (cumulative, +Inf last) from counts stored per bucket."""
    cumulative, buckets = 0.0, []
    for bound in map(str, bounds):
        cumulative += by_bound.get(bound, 0.0)
        buckets.append((bound, cumulative))
    buckets.append((INF, sum(by_bound.values())))
    return buckets


def _grouped(by_field: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """`{id}|{name}` fields grouped by id."""
    grouped: dict[str, dict[str, float]] = {}
    for name, value in by_field.items():
        owner, _, key = name.partition(SEPARATOR)
        grouped.setdefault(owner, {})[key] = value
    return grouped


def _live(by_field: Mapping[str, float], now: float) -> dict[str, dict[str, float]]:
    """`{id}|{name}` fields grouped by id, for the ids seen within STALE_S."""
    return {
        owner: values
        for owner, values in _grouped(by_field).items()
        if now - values.get("seen", float("-inf")) <= STALE_S
    }


def camera_families(snapshot: Snapshot) -> list[Metric]:
    """The camera runners' families."""
    hashes = snapshot.hashes
    cameras = _live(hashes.get(CAMERAS, {}), snapshot.taken_at)
    fps = GaugeMetricFamily(
        "vigil_camera_fps",
        "Frames per second of each running camera: arriving (in) and analysed.",
        labels=["camera", "kind"],
    )
    for camera_uuid, values in sorted(cameras.items()):
        fps.add_metric([camera_uuid, "in"], values.get("fps_in", 0.0))
        fps.add_metric([camera_uuid, "analysed"], values.get("fps_analysed", 0.0))
    counters = {
        name: CounterMetricFamily(
            f"vigil_camera_{name}", f"Capture {name} of each camera.", labels=["camera"]
        )
        for name in ("reconnects", "stalls")
    }
    for name, value in sorted(hashes.get(CAMERA_COUNTS, {}).items()):
        camera_uuid, kind = _split(name)
        if kind in counters:
            counters[kind].add_metric([camera_uuid], value)
    latency = HistogramMetricFamily(
        "vigil_camera_event_latency_seconds",
        "Camera events from the frame's capture to the stream's acknowledgement.",
        labels=["camera"],
    )
    sums = hashes.get(LATENCY_SUM, {})
    for camera_uuid, by_bound in sorted(_grouped(hashes.get(LATENCY_BUCKET_COUNTS, {})).items()):
        latency.add_metric(
            [camera_uuid], _cumulative(LATENCY_BUCKETS, by_bound), sums.get(camera_uuid, 0.0)
        )
    published = CounterMetricFamily(
        "vigil_events_published",
        "Camera events published on the stream.",
        labels=["camera", "type"],
    )
    for name, value in sorted(hashes.get(EVENTS_PUBLISHED, {}).items()):
        published.add_metric(_split(name), value)
    dropped = CounterMetricFamily(
        "vigil_events_dropped",
        "Camera events dropped because the stream's Redis was unreachable for too long.",
        labels=["camera"],
    )
    for camera_uuid, value in sorted(hashes.get(EVENTS_DROPPED, {}).items()):
        dropped.add_metric([camera_uuid], value)
    fenced = CounterMetricFamily(
        "vigil_events_fenced",
        "Camera events not published because their camera had changed hands meanwhile.",
        value=hashes.get(EVENTS_FENCED, {}).get(ALL, 0.0),
    )
    load = GaugeMetricFamily(
        "vigil_runner_load_ratio", "Cameras each runner holds over its capacity.", labels=["runner"]
    )
    for runner_id, values in sorted(_live(hashes.get(RUNNERS, {}), snapshot.taken_at).items()):
        capacity = values.get("capacity", 0.0)
        load.add_metric([runner_id], values.get("cameras", 0.0) / capacity if capacity else 0.0)
    return [fps, *counters.values(), latency, published, dropped, fenced, load]


def live_families(snapshot: Snapshot) -> list[Metric]:
    """The live view processes' families."""
    processes = _live(snapshot.hashes.get(LIVE, {}), snapshot.taken_at)
    sessions = GaugeMetricFamily(
        "vigil_webrtc_sessions",
        "Live view (WebRTC) sessions open now, in all live view processes.",
        value=sum(values.get("sessions", 0.0) for values in processes.values()),
    )
    frames = CounterMetricFamily(
        "vigil_webrtc_frames_sent",
        "Frames live view sessions handed to their encoders (placeholders included).",
        value=snapshot.hashes.get(LIVE_FRAMES, {}).get(ALL, 0.0),
    )
    return [sessions, frames]


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
        fps.add_metric(
            [kind], _cumulative(FPS_BUCKETS, by_bound), hashes.get(FPS_SUM, {}).get(kind, 0.0)
        )
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
    return [
        jobs, frames, fps, model_load, webhooks, depth,
        *camera_families(snapshot), *live_families(snapshot),
    ]  # fmt: skip


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
