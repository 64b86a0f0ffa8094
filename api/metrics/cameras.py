"""The registered cameras by state, read from Postgres at each scrape (`vigil_cameras`).

The runners export their own cameras' series through Redis (shared/metrics.py: state, fps,
reconnects, events published and dropped); those cover the cameras a runner holds, this one
every registered camera, pending and stopped ones included, from the record.

Postgres is read with the async ORM, which the registry's synchronous render cannot call: the
endpoint reads the counts first (`refresh`), then renders them with the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import asyncpg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from tortoise.exceptions import BaseORMException

from shared.db.enums import CameraState
from shared.repositories import camera_metrics

logger = logging.getLogger(__name__)


def families(counts: dict[CameraState, int]) -> list[Metric]:
    cameras = GaugeMetricFamily(
        "vigil_cameras",
        "Registered cameras, by the state their record holds (with a runner or not).",
        labels=["state"],
    )
    for state, count in counts.items():
        cameras.add_metric([state.value], count)
    return [cameras]


class CameraCollector(Collector):
    def __init__(self) -> None:
        self._counts: dict[CameraState, int] | None = None

    async def refresh(self) -> None:
        """Read the counts the next render exports; without the database, none are."""
        try:
            self._counts = await camera_metrics.count_by_state()
        except (BaseORMException, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            logger.warning("cannot count cameras in Postgres; exporting without them")
            self._counts = None

    def describe(self) -> Iterable[Metric]:
        return families({})

    def collect(self) -> Iterable[Metric]:
        return families(self._counts) if self._counts is not None else []
