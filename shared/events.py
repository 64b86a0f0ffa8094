"""Job events on Redis pub/sub: the worker publishes progress and state, the API listens."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID


def job_channel(job_id: UUID | str) -> str:
    return f"vigil:jobs:{job_id}"


def encode_event(event: str, job_id: UUID | str, **data: Any) -> str:
    return json.dumps({"event": event, "job_id": str(job_id), **data}, default=str)
