from __future__ import annotations

from shared.contracts import IMAGE_ANALYZE, VIDEO_ANALYZE, JobPayload
from shared.db.enums import JobKind
from shared.settings import get_settings
from worker.celery_app import app
from worker.services.jobs import run_job

_settings = get_settings()


@app.task(
    name=IMAGE_ANALYZE,
    soft_time_limit=_settings.image_soft_time_limit_s,
    time_limit=_settings.image_time_limit_s,
)
def analyze_image(job_id: str) -> None:
    run_job(JobPayload.model_validate({"job_id": job_id}).job_id, JobKind.IMAGE)


@app.task(
    name=VIDEO_ANALYZE,
    soft_time_limit=_settings.video_soft_time_limit_s,
    time_limit=_settings.video_time_limit_s,
)
def analyze_video(job_id: str) -> None:
    run_job(JobPayload.model_validate({"job_id": job_id}).job_id, JobKind.VIDEO)
