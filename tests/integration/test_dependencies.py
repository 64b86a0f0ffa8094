"""A dependency that goes away costs a request a bounded wait and a 503 (Vigil's error shape,
Retry-After), never a 500 or a hang, and the API recovers by itself once it is back.

Each test runs an API process of its own in front of a dependency it can break: a Redis server
of its own (stopped, frozen with SIGSTOP, restarted), or the suite's Postgres behind a TCP
forwarder that can refuse, swallow (accept and never answer) or forward connections."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.ops.localstack import LocalStack, free_port
from tests.conftest import TEST_ENV
from tests.fixtures.redis_server import RedisServer
from tests.integration.conftest import PASSWORD, api_process

# Each dependency answers within a second, or counts as down; the health report is refreshed
# every half second, so recovery shows quickly.
CACHE_S = 0.5
HEALTH_TIMEOUT_S = 1.0
REDIS_TIMEOUT_S = 1.0
BROKER_TIMEOUT_S = 1.0
QUICK = {
    "VIGIL_HEALTH_CACHE_S": str(CACHE_S),
    "VIGIL_HEALTH_TIMEOUT_S": str(HEALTH_TIMEOUT_S),
    "VIGIL_REDIS_TIMEOUT_S": str(REDIS_TIMEOUT_S),
    "VIGIL_BROKER_TIMEOUT_S": str(BROKER_TIMEOUT_S),
    "VIGIL_DB_CONNECT_TIMEOUT_S": "1",
}
HEALTH_LIMIT = 60
RECOVERY_S = 10


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own, which it may pause (SIGSTOP), stop and start again."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        assert server.process is not None
        server.process.send_signal(signal.SIGCONT)
        server.process.kill()
        server.process.wait(10)


class PostgresLine:
    """A TCP forwarder to the suite's Postgres, run on a thread of its own: `cut` refuses
    connections (nothing listens) and drops the open ones, `swallow` accepts connections and
    never answers, `restore` forwards again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server: asyncio.Server | None = None
        self.forwarding = True
        self.open: set[asyncio.StreamWriter] = set()

    def _run(self, make: Callable[[], Any]) -> None:
        asyncio.run_coroutine_threadsafe(make(), self.loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        if not self.forwarding:
            await reader.read()  # swallowed: held open, never answered
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5432)
        self.open.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(
            self._connection, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.open:
            writer.transport.abort()
        self.open.clear()

    def restore(self) -> None:
        self._run(self._close)
        self.forwarding = True
        self._run(self._listen)

    def cut(self) -> None:
        self._run(self._close)

    def swallow(self) -> None:
        self._run(self._close)
        self.forwarding = False
        self._run(self._listen)

    def shut(self) -> None:
        self._run(self._close)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def postgres_line() -> Iterator[PostgresLine]:
    line = PostgresLine()
    line.restore()
    try:
        yield line
    finally:
        line.shut()


def _client(api: LocalStack, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=f"{api.base_url}/api/v1", transport=transport, timeout=30)


def _bearer(client: httpx.Client) -> dict[str, str]:
    email = f"deps-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    signin = client.post("/auth/signin", data={"username": email, "password": PASSWORD})
    assert signin.status_code == 200, signin.text
    return {"Authorization": f"Bearer {signin.json()['access_token']}"}


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def _assert_unavailable(response: httpx.Response, seconds: float, limit_s: float) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert seconds < limit_s, f"{response.request.url} took {seconds:.1f} s"


def _until_ok(call: Callable[[], httpx.Response]) -> float:
    """Seconds until `call` answers 200; fails after RECOVERY_S."""
    started = time.perf_counter()
    while (response := call()).status_code != 200:
        assert response.status_code != 500, response.text
        assert time.perf_counter() - started < RECOVERY_S, response.text
        time.sleep(0.2)
    return time.perf_counter() - started


def test_redis_going_away_costs_503s_not_hangs_and_the_api_recovers(
    stack: LocalStack, own_redis: RedisServer
) -> None:
    with (
        api_process("api-own-redis", QUICK | {"VIGIL_REDIS_URL": own_redis.url}) as api,
        _client(api, "127.0.0.31") as client,
    ):
        bearer = _bearer(client)
        _until_ok(lambda: client.get("/health/ready"))

        for outage, (begin, end) in {
            "stopped": (own_redis.stop, own_redis.start),
            "frozen": (
                lambda: own_redis.signal(signal.SIGSTOP),
                lambda: own_redis.signal(signal.SIGCONT),
            ),
        }.items():
            begin()
            time.sleep(CACHE_S)  # the last report, taken while Redis was up, has expired
            ready, ready_s = _timed(lambda: client.get("/health/ready"))
            assert ready.status_code == 503, outage
            assert ready.json()["checks"]["redis"]["status"] in ("down", "timeout")
            # Worst case (frozen): the health budget's count, a command tried twice, then the
            # probe's own deadline.
            assert ready_s < 2 * REDIS_TIMEOUT_S + HEALTH_TIMEOUT_S + 1.5
            models, models_s = _timed(lambda: client.get("/models", headers=bearer))
            # Two counts as for /me, then the broker's connect timeout and the reply window.
            _assert_unavailable(models, models_s, 4 * REDIS_TIMEOUT_S + BROKER_TIMEOUT_S + 2.5)
            # Redis holds only the rate-limit counters of these routes: they fail open.
            me, me_s = _timed(lambda: client.get("/me", headers=bearer))
            assert me.status_code == 200, me.text
            assert me_s < 2 * (2 * REDIS_TIMEOUT_S) + 1.5  # two counts, each tried twice
            print(
                f"redis {outage}: ready {ready_s:.2f} s, models {models_s:.2f} s, me {me_s:.2f} s"
            )

            end()
            recovered_s = _until_ok(lambda: client.get("/health/ready"))
            assert client.get("/models", headers=bearer).status_code == 200
            print(f"redis {outage}: ready again {recovered_s:.2f} s after its return")


def test_postgres_going_away_costs_503s_not_hangs_and_the_api_recovers(
    stack: LocalStack, postgres_line: PostgresLine
) -> None:
    database_url = TEST_ENV["VIGIL_DATABASE_URL"].replace(":5432/", f":{postgres_line.port}/")
    with (
        api_process("api-postgres-line", QUICK | {"VIGIL_DATABASE_URL": database_url}) as api,
        _client(api, "127.0.0.32") as client,
    ):
        bearer = _bearer(client)
        assert client.get("/me", headers=bearer).status_code == 200

        for outage, begin in {
            "refused": postgres_line.cut,
            "silent": postgres_line.swallow,
        }.items():
            begin()
            me, me_s = _timed(lambda: client.get("/me", headers=bearer))
            _assert_unavailable(me, me_s, 4)
            signin, signin_s = _timed(
                lambda: client.post(
                    "/auth/signin", data={"username": "x@example.com", "password": "x"}
                )
            )
            _assert_unavailable(signin, signin_s, 4)
            time.sleep(CACHE_S)
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"]["status"] in ("down", "timeout")
            # What failed, and where, is for the log.
            assert str(postgres_line.port) not in me.text + ready.text
            print(f"postgres {outage}: /me {me_s:.2f} s, sign-in {signin_s:.2f} s")

            postgres_line.restore()
            recovered_s = _until_ok(lambda: client.get("/me", headers=bearer))
            _until_ok(lambda: client.get("/health/ready"))
            print(f"postgres {outage}: /me answers again {recovered_s:.2f} s after its return")


def test_health_checks_have_a_budget_of_their_own(
    stack: LocalStack, own_redis: RedisServer
) -> None:
    """F-01: /health used to be exempt from every limit; now it has its own (generous) one,
    and liveness, which touches nothing, stays unlimited."""
    env = {
        "VIGIL_REDIS_URL": own_redis.url,
        "VIGIL_RATE_LIMIT_HEALTH_PER_MINUTE": str(HEALTH_LIMIT),
        "VIGIL_RATE_LIMIT_IP_PER_MINUTE": str(HEALTH_LIMIT),
    }
    with api_process("api-health-limit", QUICK | env) as api, _client(api, "127.0.0.33") as client:
        statuses = [client.get("/health/ready").status_code for _ in range(HEALTH_LIMIT)]
        assert 429 not in statuses
        refused = client.get("/health")
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert "health checks per minute" in refused.json()["detail"]
        assert client.get("/health/live").status_code == 200
        # The health budget is not the one other requests spend.
        assert client.get("/me").status_code == 401
