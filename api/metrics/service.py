"""The API's Prometheus registry: its HTTP metrics and the workers', both read from Redis.

The registry belongs to the app rather than being prometheus_client's global one, so creating
a second app (tests, reloads) does not collide with the first."""

from __future__ import annotations

import secrets

import redis
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import SecretStr

from api.metrics.cameras import CameraCollector
from api.metrics.http import HttpCollector, HttpCounts
from shared.errors import AuthenticationError, NotFoundError
from shared.metrics import PREFIX, MetricsStore, StoreCollector

# Anything else a client sends as a method is counted as OTHER: labels must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class ApiMetrics:
    def __init__(self, redis_url: str, prefix: str = PREFIX) -> None:
        self.registry = CollectorRegistry()
        # This process's requests, until the lifespan's task (api/main.py) flushes them.
        self.http = HttpCounts(prefix)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        self.registry.register(HttpCollector(self._redis, prefix))
        self.registry.register(StoreCollector(MetricsStore(self._redis)))
        self.cameras = CameraCollector()
        self.registry.register(self.cameras)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.http.observe(method, route, status, seconds)

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
