"""The camera runners' Prometheus families, from the hashes they write: live cameras and runners
only, counters as stored, the latency histogram cumulative."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from shared.metrics import STALE_S, Snapshot, families

NOW = 1_800_000_000.0


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
            "events_published": {"detection": 40, "status": 2},
            "events_dropped": {"all": 7},
            "events_fenced": {"all": 2},
            "event_latency_buckets": {"0.1": 30, "0.2": 10, "+Inf": 2},
            "event_latency_sum": {"all": 6.5},
        },
        queue_depth={},
        taken_at=NOW,
    )  # fmt: skip
    samples = scrape(snapshot)
    fps = {(labels["camera"], labels["kind"]): v for labels, v in samples["vigil_camera_fps"]}
    assert fps == {("cam-a", "in"): 29.9, ("cam-a", "analysed"): 5.0}
    assert samples["vigil_camera_reconnects_total"] == [({"camera": "cam-a"}, 3.0)]
    assert samples["vigil_camera_stalls_total"] == [({"camera": "cam-a"}, 1.0)]
    published = {labels["type"]: v for labels, v in samples["vigil_events_published_total"]}
    assert published == {"detection": 40, "status": 2}
    assert samples["vigil_events_dropped_total"] == [({}, 7.0)]
    assert samples["vigil_events_fenced_total"] == [({}, 2.0)]
    buckets = {
        labels["le"]: v for labels, v in samples["vigil_camera_event_latency_seconds_bucket"]
    }
    assert (buckets["0.05"], buckets["0.1"], buckets["0.2"], buckets["+Inf"]) == (0, 30, 40, 42)
    assert samples["vigil_camera_event_latency_seconds_sum"] == [({}, 6.5)]
    assert samples["vigil_runner_load_ratio"] == [({"runner": "r1"}, 0.25)]


def test_no_camera_figures_without_runners() -> None:
    samples = scrape(Snapshot(hashes={}, queue_depth={}))
    assert samples["vigil_events_dropped_total"] == [({}, 0.0)]
    assert "vigil_camera_fps" not in samples
    assert "vigil_runner_load_ratio" not in samples
