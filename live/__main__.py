"""`python -m live [--health-file PATH]`: the live view service, until SIGTERM or SIGINT (exit
status 0), or until one of its loops fails (exit status 1: let the supervisor restart it)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import redis
import redis.asyncio as aioredis

from live.service import POLL_S, LiveService
from live.signaling import tighten_consent
from shared.logging import configure_logging
from shared.metrics import MetricsStore
from shared.settings import get_settings


async def serve(health_file: Path | None) -> int:
    settings = get_settings()
    tighten_consent()
    client = aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout_s,
        # Blocking reads wait up to POLL_S: a command gets that long more before it is given up.
        socket_timeout=settings.redis_timeout_s + POLL_S,
    )
    metrics = MetricsStore(redis.Redis.from_url(settings.redis_url, socket_timeout=2))
    service = LiveService(settings, client, metrics, health_file)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stopping.set)
    try:
        return await service.run()
    finally:
        await client.aclose()
        metrics.client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m live", description=__doc__)
    parser.add_argument(
        "--health-file",
        type=Path,
        help="touched at every heartbeat (every 2 s), for a container health check",
    )
    args = parser.parse_args(argv)
    configure_logging()
    # aioice logs every connectivity check of every session at INFO.
    logging.getLogger("aioice").setLevel(logging.WARNING)
    return asyncio.run(serve(args.health_file))


if __name__ == "__main__":
    sys.exit(main())
