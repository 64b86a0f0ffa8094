"""The worker metrics' Prometheus families and the /metrics token check, without Redis."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from pydantic import SecretStr

from api.metrics.service import check_token
from shared.errors import AuthenticationError, NotFoundError
from shared.metrics import FPS_BUCKETS, Snapshot, families, fps_bucket


def test_fps_lands_in_the_smallest_bucket_that_holds_it() -> None:
    assert fps_bucket(0.1) == "0.5"
    assert fps_bucket(10.0) == "10.0"
    assert fps_bucket(10.01) == "15.0"
    assert fps_bucket(FPS_BUCKETS[-1] + 1) == "+Inf"


def test_families_make_cumulative_buckets_and_named_series() -> None:
    snapshot = Snapshot(
        hashes={
            "jobs": {"video|completed": 3.0, "image|failed": 1.0},
            "frames": {"video": 300.0},
            "fps_buckets": {"video|5.0": 1.0, "video|20.0": 2.0, "video|+Inf": 1.0},
            "fps_sum": {"video": 400.0},
            "model_load": {"yolov8n": 2.5},
            "webhook_attempts": {"succeeded": 4.0},
        },
        queue_depth={"images": 0, "video": 2},
    )

    class Fixed(Collector):
        def collect(self) -> Iterable[Metric]:
            return families(snapshot)

    registry = CollectorRegistry()
    registry.register(Fixed())
    parsed = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    fps = {
        s.labels["le"]: s.value
        for s in parsed["vigil_processing_fps"].samples
        if s.name.endswith("_bucket")
    }
    assert fps["2.0"] == 0
    assert fps["5.0"] == 1
    assert fps["15.0"] == 1
    assert fps["20.0"] == 3
    assert fps["+Inf"] == 4
    count = next(s for s in parsed["vigil_processing_fps"].samples if s.name.endswith("_count"))
    assert count.value == 4
    jobs = {(s.labels["kind"], s.labels["outcome"]): s.value for s in parsed["vigil_jobs"].samples}
    assert jobs == {("image", "failed"): 1, ("video", "completed"): 3}
    assert parsed["vigil_jobs"].type == "counter"
    assert parsed["vigil_model_load_seconds"].type == "gauge"
    depth = {s.labels["queue"]: s.value for s in parsed["vigil_queue_depth"].samples}
    assert depth == {"images": 0, "video": 2}


@pytest.mark.parametrize("open_without", [True, False])
def test_metrics_token(open_without: bool) -> None:
    """A configured token is required everywhere, dev included."""
    check_token("Bearer s3cret", SecretStr("s3cret"), open_without=open_without)
    check_token("bearer s3cret", SecretStr("s3cret"), open_without=open_without)
    for sent in (None, "", "s3cret", "Bearer wrong", "Basic s3cret", "Bearer "):
        with pytest.raises(AuthenticationError):
            check_token(sent, SecretStr("s3cret"), open_without=open_without)


def test_metrics_without_a_token_are_open_in_dev_only() -> None:
    check_token(None, None, open_without=True)
    check_token("Bearer anything", None, open_without=True)
    for sent in (None, "Bearer anything"):
        with pytest.raises(NotFoundError):
            check_token(sent, None, open_without=False)
