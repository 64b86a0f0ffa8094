"""What the API's /metrics reads about cameras from Postgres at each scrape."""

from __future__ import annotations

from tortoise.functions import Count

from shared.db.enums import CameraState
from shared.db.models import Camera


async def count_by_state() -> dict[CameraState, int]:
    """Every registered camera by the state its record holds; 0 for states none is in."""
    rows = await Camera.all().group_by("state").annotate(n=Count("id")).values("state", "n")
    counts = dict.fromkeys(CameraState, 0)
    for row in rows:
        counts[CameraState(row["state"])] = int(row["n"])
    return counts
