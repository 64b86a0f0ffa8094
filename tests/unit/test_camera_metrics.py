"""The camera runners' Prometheus families, from the hashes they write: live cameras and runners
only, counters as stored and by camera, the latency histogram cumulative."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from shared.metrics import (
    HASHES,
    STALE_S,
    CameraGauges,
    MetricsStore,
    RunnerReport,
    Snapshot,
    families,
)
from tests.conftest import TEST_ENV

NOW = 1_800_000_000.0


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    yield connection
    connection.close()


def scrape(snapshot: Snapshot) -> dict[str, list[tuple[dict[str, str], float]]]:
    class Fixed(Collector):
        def collect(self) -> Iterable[Metric]:
            return families(snapshot)

    registry = CollectorRegistry()
    registry.register(Fixed())
    text = generate_latest(registry).decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_camera_families() -> None:
    snapshot = Snapshot(
        hashes={
            "cameras": {
                "cam-a|fps_in": 29.9, "cam-a|fps_analysed": 5.0,
                "cam-a|seen": NOW - 1,
                # A runner that died left these: not exported.
                "cam-b|fps_in": 25.0, "cam-b|fps_analysed": 5.0,
                "cam-b|seen": NOW - STALE_S - 1,
            },
            "runners": {"r1|cameras": 2, "r1|capacity": 8, "r1|seen": NOW},
            "camera_counts": {"cam-a|reconnects": 3, "cam-a|stalls": 1},
            "camera_events_published": {
                "cam-a|detection": 40, "cam-a|status": 2, "cam-b|status": 1,
            },
            "camera_events_dropped": {"cam-a": 7},
            "events_fenced": {"all": 2},
            "camera_event_latency_buckets": {
                "cam-a|0.1": 30, "cam-a|0.2": 10, "cam-a|+Inf": 2, "cam-b|0.05": 1,
            },
            "camera_event_latency_sum": {"cam-a": 6.5, "cam-b": 0.04},
        },
        queue_depth={},
        taken_at=NOW,
    )  # fmt: skip
    samples = scrape(snapshot)
    fps = {(labels["camera"], labels["kind"]): v for labels, v in samples["vigil_camera_fps"]}
    assert fps == {("cam-a", "in"): 29.9, ("cam-a", "analysed"): 5.0}
    assert samples["vigil_camera_reconnects_total"] == [({"camera": "cam-a"}, 3.0)]
    assert samples["vigil_camera_stalls_total"] == [({"camera": "cam-a"}, 1.0)]
    published = {
        (labels["camera"], labels["type"]): v
        for labels, v in samples["vigil_events_published_total"]
    }
    assert published == {("cam-a", "detection"): 40, ("cam-a", "status"): 2, ("cam-b", "status"): 1}
    assert samples["vigil_events_dropped_total"] == [({"camera": "cam-a"}, 7.0)]
    assert samples["vigil_events_fenced_total"] == [({}, 2.0)]
    buckets = {
        (labels["camera"], labels["le"]): v
        for labels, v in samples["vigil_camera_event_latency_seconds_bucket"]
    }
    a = [buckets["cam-a", bound] for bound in ("0.05", "0.1", "0.2", "+Inf")]
    assert a == [0, 30, 40, 42]
    assert (buckets["cam-b", "0.05"], buckets["cam-b", "+Inf"]) == (1, 1)
    sums = {labels["camera"]: v for labels, v in samples["vigil_camera_event_latency_seconds_sum"]}
    assert sums == {"cam-a": 6.5, "cam-b": 0.04}
    assert samples["vigil_runner_load_ratio"] == [({"runner": "r1"}, 0.25)]


def test_no_camera_figures_without_runners() -> None:
    samples = scrape(Snapshot(hashes={}, queue_depth={}))
    assert samples["vigil_events_fenced_total"] == [({}, 0.0)]
    assert "vigil_events_dropped_total" not in samples
    assert "vigil_camera_fps" not in samples
    assert "vigil_runner_load_ratio" not in samples


def test_a_runner_s_counts_reach_the_export_per_camera(client: redis.Redis) -> None:
    """Through the test Redis: what a runner writes is what /metrics shows, camera by camera,
    and two reports add up."""
    store = MetricsStore(client, prefix=f"test:metrics:{uuid.uuid4().hex}")
    report = RunnerReport(
        runner_id="r1",
        capacity=4,
        cameras=[CameraGauges("cam-a", 25.0, 5.0)],
        published=Counter({("cam-a", "detection"): 3, ("cam-b", "motion"): 1}),
        dropped=Counter({"cam-b": 2}),
        latency_buckets=Counter({("cam-a", "0.1"): 3, ("cam-b", "0.2"): 1}),
        latency_sum_s={"cam-a": 0.3, "cam-b": 0.2},
    )
    try:
        store.record_runner(report)
        store.record_runner(report)
        samples = scrape(store.read([]))
    finally:
        client.delete(*(store.key(name) for name in HASHES))
    published = {
        (labels["camera"], labels["type"]): v
        for labels, v in samples["vigil_events_published_total"]
    }
    assert published == {("cam-a", "detection"): 6, ("cam-b", "motion"): 2}
    assert samples["vigil_events_dropped_total"] == [({"camera": "cam-b"}, 4.0)]
    counts = {
        labels["camera"]: v for labels, v in samples["vigil_camera_event_latency_seconds_count"]
    }
    assert counts == {"cam-a": 6, "cam-b": 2}
