"""The webhook payloads: `{"type", "timestamp", "data"}` per the Standard Webhooks spec, with the
data of each event type."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.timezone import now as utcnow

from shared.db.enums import JobStatus
from shared.db.models import Job

API_PREFIX = "/api/v1"
WATCHLIST_MATCH_EVENT = "watchlist_match"


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_finished(job: Job) -> dict[str, Any]:
    """job.completed / job.failed data: the job's outcome and where to read the rest."""
    return {
        "job_id": str(job.id),
        "kind": job.kind.value,
        "status": job.status.value,
        "filename": (job.media or {}).get("filename"),
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
        "processing_time": job.processing_time,
        "error": job.error,
        **({"summary": job.summary} if job.status is JobStatus.COMPLETED else {}),
        "status_url": f"{API_PREFIX}/jobs/{job.id}/status",
        "results_url": f"{API_PREFIX}/jobs/{job.id}/results",
        "annotated_url": f"{API_PREFIX}/jobs/{job.id}/annotated" if job.annotated_path else None,
    }


def job_progress(job_id: UUID, kind: str, **progress: Any) -> dict[str, Any]:
    """job.progress data; `progress` holds progress, frames_processed, frames_total and
    processing_speed."""
    return {"job_id": str(job_id), "kind": kind, "status": JobStatus.PROCESSING.value, **progress}


def watchlist_matches(job: Job) -> list[dict[str, Any]]:
    """plate.watchlist_match data, one per `watchlist_match` event of a completed job's summary:
    the event's fields (plate, confidence, frame, the watchlist entry) and the job id."""
    events = (job.summary or {}).get("events")
    if not isinstance(events, list):
        return []
    return [
        {"job_id": str(job.id), **{k: v for k, v in event.items() if k != "type"}}
        for event in events
        if isinstance(event, dict) and event.get("type") == WATCHLIST_MATCH_EVENT
    ]
