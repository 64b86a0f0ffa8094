"""Prometheus metrics: the API's own, the workers' (through Redis) and the queue depths."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from shared.contracts import ALL_QUEUES
from shared.metrics import MetricsStore, StoreCollector
from shared.ops.localstack import LocalStack, free_port
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.integration.conftest import api_process, wait_for
from tests.media import BUS, mp4_without_video

STATUS_ROUTE = "/api/v1/jobs/{job_id}/status"


def parse(text: str) -> dict[str, list[Sample]]:
    """Samples by name (vigil_jobs_total, ..._bucket, ...)."""
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    """The sum of the samples with these labels (0 when there is none)."""
    return sum(s.value for s in samples.get(name, []) if labels.items() <= s.labels.items())


SCRAPER = {"Authorization": f"Bearer {TEST_ENV['VIGIL_METRICS_TOKEN']}"}


def scrape(base_url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """As the test stack's scraper, unless other headers are given."""
    return httpx.get(
        f"{base_url}/metrics", headers=SCRAPER if headers is None else headers, timeout=30
    )


def scrape_until(
    base_url: str, name: str, minimum: float, **labels: str
) -> dict[str, list[Sample]]:
    """Workers record a job just after publishing its end; wait for that write to land."""
    deadline = time.monotonic() + 30
    while True:
        samples = parse(scrape(base_url).text)
        if value(samples, name, **labels) >= minimum or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_metrics_cover_requests_jobs_queues_and_models(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    job_id = str(uuid.uuid4())
    assert client.get(f"/jobs/{job_id}/status", headers=auth).status_code == 404
    assert client.get("/no-such-route").status_code == 404
    with BUS.open("rb") as handle:
        image = client.post("/process/image", files={"file": handle}, headers=auth)
    assert image.status_code == 200, image.text
    broken = client.post(
        "/process/video", files={"file": ("clip.mp4", mp4_without_video())}, headers=auth
    )
    assert wait_for(client, broken.json()["job_id"], auth)["status"] == "failed"

    response = scrape(stack.base_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = scrape_until(stack.base_url, "vigil_jobs_total", 1, kind="video", outcome="failed")

    requests = samples["vigil_http_requests_total"]
    assert value(samples, "vigil_http_requests_total", route=STATUS_ROUTE, status="404") >= 1
    assert value(samples, "vigil_http_requests_total", route="/api/v1/process/image") >= 1
    assert value(samples, "vigil_http_requests_total", route="unmatched", status="404") >= 1
    # Route templates only: never a raw path with an id in it.
    assert not [s for s in requests if job_id in s.labels["route"]]
    buckets = [
        s
        for s in samples["vigil_http_request_duration_seconds_bucket"]
        if s.labels["route"] == STATUS_ROUTE
    ]
    assert buckets
    assert buckets[-1].labels["le"] == "+Inf"
    assert value(samples, "vigil_http_request_duration_seconds_count", route=STATUS_ROUTE) >= 1

    depths = {s.labels["queue"]: s.value for s in samples["vigil_queue_depth"]}
    assert set(depths) == set(ALL_QUEUES)
    assert all(depth >= 0 for depth in depths.values())

    assert value(samples, "vigil_jobs_total", kind="image", outcome="completed") >= 1
    assert value(samples, "vigil_jobs_total", kind="video", outcome="failed") >= 1
    assert value(samples, "vigil_frames_processed_total", kind="image") >= 1
    assert value(samples, "vigil_processing_fps_count", kind="image") >= 1
    assert value(samples, "vigil_processing_fps_bucket", kind="image", le="+Inf") >= 1
    loads = {s.labels["model"]: s.value for s in samples["vigil_model_load_seconds"]}
    assert loads[get_settings().model_name] > 0

    schema = httpx.get(f"{stack.base_url}/openapi.json").json()
    assert "/metrics" not in schema["paths"]


@pytest.fixture
def guarded_api(stack: LocalStack) -> Iterator[LocalStack]:
    """A second API process, sharing the stack's worker, set up as a deployment is."""
    with api_process(
        "metrics-token", {"VIGIL_ENV": "prod", "VIGIL_METRICS_TOKEN": "scrape-me"}
    ) as api:
        yield api


def test_metrics_token_is_required_when_set(guarded_api: LocalStack) -> None:
    # The shared stack's token opens nothing here.
    assert scrape(guarded_api.base_url).status_code == 401
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"}):
        refused = scrape(guarded_api.base_url, headers)
        assert refused.status_code == 401
        assert refused.json()["error"] == "not_authenticated"
        assert refused.headers["www-authenticate"] == "Bearer"
    allowed = scrape(guarded_api.base_url, {"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200
    assert "vigil_queue_depth" in parse(allowed.text)


def test_store_adds_up_across_writers_and_survives_redis_outages() -> None:
    client = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    prefix = f"test-metrics:{uuid.uuid4().hex}"
    queue = f"{prefix}:queue"
    try:
        # Two stores on one Redis stand for two worker processes.
        for store in (MetricsStore(client, prefix), MetricsStore(client, prefix)):
            store.record_job("video", "completed", frames=100, fps=12.5)
            store.record_job("video", "failed")
        MetricsStore(client, prefix).record_model_load("yolo", 1.5)
        MetricsStore(client, prefix).record_model_load("yolo", 0.75)
        MetricsStore(client, prefix).record_webhook_attempt("retry")
        client.rpush(queue, b"a", b"b")
        registry = CollectorRegistry()
        registry.register(StoreCollector(MetricsStore(client, prefix), queues=[queue]))
        samples = parse(generate_latest(registry).decode())
    finally:
        client.delete(queue, *client.keys(f"{prefix}:*"))
    assert value(samples, "vigil_jobs_total", kind="video", outcome="completed") == 2
    assert value(samples, "vigil_jobs_total", kind="video", outcome="failed") == 2
    assert value(samples, "vigil_frames_processed_total", kind="video") == 200
    assert value(samples, "vigil_processing_fps_bucket", kind="video", le="10.0") == 0
    assert value(samples, "vigil_processing_fps_bucket", kind="video", le="15.0") == 2
    assert value(samples, "vigil_processing_fps_bucket", kind="video", le="+Inf") == 2
    assert value(samples, "vigil_processing_fps_count", kind="video") == 2
    assert value(samples, "vigil_processing_fps_sum", kind="video") == 25.0
    assert value(samples, "vigil_model_load_seconds", model="yolo") == 0.75
    assert value(samples, "vigil_webhook_attempts_total", outcome="retry") == 1
    assert value(samples, "vigil_queue_depth", queue=queue) == 2

    nowhere = redis.Redis(port=free_port(), socket_timeout=1)
    MetricsStore(nowhere, prefix).record_job("image", "completed", frames=1, fps=3.0)
    registry = CollectorRegistry()
    registry.register(StoreCollector(MetricsStore(nowhere, prefix), queues=[queue]))
    assert "vigil_jobs_total" not in parse(generate_latest(registry).decode())
