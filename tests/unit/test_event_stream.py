"""A client that leaves while its event stream is still subscribing gives the Redis connection
back, against a server that takes the SUBSCRIBE and never confirms it."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from api.jobs import events


async def _cancel_while_subscribing() -> bool:
    """Whether the server saw the client's connection close after the cancellation."""
    subscribed = asyncio.Event()
    closed = asyncio.Event()

    async def never_confirms(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            if b"SUBSCRIBE" in data:
                subscribed.set()
        closed.set()
        writer.close()

    server = await asyncio.start_server(never_confirms, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # No HELLO and no CLIENT SETINFO on connect: SUBSCRIBE is the first command sent.
    redis = aioredis.Redis(host="127.0.0.1", port=port, protocol=2, driver_info=None)
    try:
        subscribing = asyncio.create_task(events._subscribe(redis, uuid.uuid4()))
        await asyncio.wait_for(subscribed.wait(), 10)
        subscribing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await subscribing
        try:
            await asyncio.wait_for(closed.wait(), 10)
        except TimeoutError:
            return False
        return True
    finally:
        await redis.aclose()
        server.close()


def test_a_cancelled_subscription_closes_its_connection() -> None:
    assert asyncio.run(_cancel_while_subscribing())
