"""The API's Prometheus registry: its own HTTP metrics plus the workers', read from Redis.

The registry belongs to the app rather than being prometheus_client's global one, so creating
a second app (tests, reloads) does not collide with the first."""

from __future__ import annotations

import secrets

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import SecretStr

from api.metrics.cameras import CameraCollector
from shared.errors import AuthenticationError, NotFoundError
from shared.metrics import MetricsStore, StoreCollector

# Anything else a client sends as a method is counted as OTHER: labels must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class ApiMetrics:
    def __init__(self, redis_url: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vigil_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "vigil_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response (whole stream for SSE).",
            ["method", "route"],
            registry=self.registry,
        )
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        self.registry.register(StoreCollector(MetricsStore(self._redis)))
        self.cameras = CameraCollector()
        self.registry.register(self.cameras)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        """The text exposition; blocking (it reads Redis), so run it off the event loop."""
        return generate_latest(self.registry)

    def close(self) -> None:
        self._redis.close()


def check_token(authorization: str | None, token: SecretStr | None, *, open_without: bool) -> None:
    """With VIGIL_METRICS_TOKEN set, only `Authorization: Bearer <token>` may scrape. Without
    one, /metrics is open where `open_without` (dev) and answers like an unknown route
    elsewhere: queue depths and traffic by route are not for the whole network."""
    if token is None:
        if open_without:
            return
        raise NotFoundError("Not Found")
    scheme, _, sent = (authorization or "").partition(" ")
    expected = token.get_secret_value()
    # Bytes: compare_digest refuses non-ASCII text, which a client can put in a header.
    matches = secrets.compare_digest(sent.strip().encode(), expected.encode())
    if scheme.lower() != "bearer" or not matches:
        raise AuthenticationError("metrics need Authorization: Bearer <VIGIL_METRICS_TOKEN>")
