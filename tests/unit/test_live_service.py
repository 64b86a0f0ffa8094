"""The live view service in this process against the test Redis, with offers made by an aiortc
viewer and handed over by the API's own signaling code: a session closed behind its holder's
back stays closed, a copy of an offer opens no second peer, an offer the API gave up on opens
none, and a loop that dies stops the service."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from api.webrtc import signaling as api_signaling
from live.service import POLL_S, LiveService
from shared.cameras.events import viewers_key
from shared.live.protocol import (
    OFFERS_KEY,
    OFFERS_MAX,
    PROCESSES_KEY,
    SESSIONS_KEY,
    Answer,
    OfferRequest,
    new_reply_key,
    parse_reply,
    session_key,
    user_sessions_key,
)
from shared.metrics import MetricsStore
from shared.settings import get_settings
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.webrtc_client import LiveViewer

WAIT_S = 15.0


async def offer_sdp() -> str:
    viewer = LiveViewer("http://unused", {})
    try:
        return await viewer.offer()
    finally:
        await viewer.close()


def offer_request(sdp: str, *, timeout_s: float = 10.0) -> OfferRequest:
    return OfferRequest(
        session_id=str(uuid.uuid4()),
        owner_id=str(uuid.uuid4()),
        camera_uuid=str(uuid.uuid4()),
        camera_id="gate-north",
        sdp=sdp,
        live_fps=15.0,
        reply_to=new_reply_key(),
        deadline=time.time() + timeout_s,
    )


async def reserve(client: aioredis.Redis, request: OfferRequest) -> None:
    """The place the API reserves before it hands an offer over."""
    outcome, _ = await api_signaling.reserve(
        client, uuid.UUID(request.owner_id), request.session_id, time.time() + 30, 4, 20
    )
    assert outcome == 0


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {WAIT_S} s"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(
    redis_url: str, service_class: type[LiveService] = LiveService
) -> AsyncIterator[tuple[LiveService, aioredis.Redis, asyncio.Task[int]]]:
    # As `python -m live` makes it: a blocking read may take POLL_S more than a command.
    client = aioredis.Redis.from_url(redis_url, socket_timeout=2 + POLL_S)
    metrics = MetricsStore(redis.Redis.from_url(redis_url))
    service = service_class(get_settings(), client, metrics)
    task = asyncio.create_task(service.run())
    try:
        yield service, client, task
    finally:
        service.stopping.set()
        await asyncio.wait_for(task, WAIT_S)
        await client.aclose()
        metrics.client.close()


def test_a_session_closed_behind_its_holders_back_is_not_brought_back(
    own_redis: RedisServer,
) -> None:
    """The API removes a session's keys itself when its holder does not confirm a close: the
    holder's renewals must not create them again, and it closes the peer."""

    async def scenario() -> None:
        async with running(own_redis.url) as (service, client, _):
            request = offer_request(await offer_sdp())
            await reserve(client, request)
            reply = await api_signaling.exchange(client, request, WAIT_S)
            assert isinstance(reply, Answer), reply
            assert request.session_id in service.sessions
            assert await client.exists(session_key(request.session_id))

            await api_signaling.release(
                client, request.owner_id, request.session_id, request.camera_uuid
            )

            async def closed() -> bool:
                return request.session_id not in service.sessions

            await until(closed, "the holder closed the session")
            assert not await client.exists(session_key(request.session_id))
            assert await client.zscore(SESSIONS_KEY, request.session_id) is None
            owner_sessions = user_sessions_key(request.owner_id)
            assert await client.zscore(owner_sessions, request.session_id) is None
            viewer = await client.zscore(viewers_key(request.camera_uuid), request.session_id)
            assert viewer is None

    asyncio.run(scenario())


def test_a_copy_of_an_offer_opens_no_second_peer(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The API's Redis client pushes an offer again when its connection drops after the push."""
    caplog.set_level(logging.INFO, logger="vigil.live")

    async def scenario() -> None:
        async with running(own_redis.url) as (service, client, _):
            request = offer_request(await offer_sdp())
            await reserve(client, request)
            await client.lpush(OFFERS_KEY, request.model_dump_json(), request.model_dump_json())
            popped: Any = await client.blpop([request.reply_to], timeout=WAIT_S)
            assert popped is not None
            assert isinstance(parse_reply(popped[1]), Answer)

            async def settled() -> bool:
                return not service.opening and not await client.llen(OFFERS_KEY)

            await until(settled, "both copies taken")
            assert list(service.sessions) == [request.session_id]
            assert await client.blpop([request.reply_to], timeout=1) is None
            assert "dropped a copy of its offer" in caplog.text

    asyncio.run(scenario())


def test_an_offer_whose_place_is_gone_opens_no_session(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The API gave up waiting and released the place: the live process must not register a
    session nobody counts under the caps."""
    caplog.set_level(logging.INFO, logger="vigil.live")

    async def scenario() -> None:
        async with running(own_redis.url) as (service, client, _):
            request = offer_request(await offer_sdp())
            await client.lpush(OFFERS_KEY, request.model_dump_json())

            async def dropped() -> bool:
                return "its place is gone" in caplog.text

            await until(dropped, "the offer dropped")
            assert not service.sessions
            assert not await client.exists(session_key(request.session_id))
            assert await client.blpop([request.reply_to], timeout=0.5) is None
            assert not service.feeds.feeds

    asyncio.run(scenario())


class DyingCloses(LiveService):
    """A live service whose close loop fails as a bug would."""

    async def _take_closes(self) -> None:
        raise RuntimeError("a bug in the close loop")


def test_a_loop_that_dies_stops_the_service_with_status_1(own_redis: RedisServer) -> None:
    async def scenario() -> None:
        async with running(own_redis.url, DyingCloses) as (service, client, task):
            assert await asyncio.wait_for(task, WAIT_S) == 1
            assert await client.zscore(PROCESSES_KEY, service.process_id) is None

    asyncio.run(scenario())


def test_a_stopped_service_says_so_with_status_0(own_redis: RedisServer) -> None:
    async def scenario() -> None:
        async with running(own_redis.url) as (service, _, task):
            await asyncio.sleep(0.1)
            service.stopping.set()
            assert await asyncio.wait_for(task, WAIT_S) == 0

    asyncio.run(scenario())


def test_the_offer_queue_is_bounded_and_lapses(own_redis: RedisServer) -> None:
    """With no live process taking offers, the queue keeps the newest OFFERS_MAX."""

    async def scenario() -> None:
        client = aioredis.Redis.from_url(own_redis.url)
        try:
            await client.delete(OFFERS_KEY)
            requests = [offer_request("v=0") for _ in range(OFFERS_MAX + 3)]
            for request in requests:
                assert await api_signaling.exchange(client, request, 0) is None
            assert await client.llen(OFFERS_KEY) == OFFERS_MAX
            assert await client.ttl(OFFERS_KEY) > 0
            oldest: Any = await client.lindex(OFFERS_KEY, -1)
            assert OfferRequest.model_validate_json(oldest) == requests[3]
        finally:
            await client.delete(OFFERS_KEY)
            await client.aclose()

    asyncio.run(scenario())
