"""The record: users, their refresh tokens, jobs, per-frame results and plate watchlists.
Postgres is the source of truth."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from shared.db.enums import JobKind, JobStatus, WatchlistKind
from shared.plates import MAX_WATCH_PATTERN_LENGTH


class User(Model):
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255)
    full_name = fields.CharField(max_length=200, null=True)
    is_active = fields.BooleanField(default=True)
    is_superuser = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"


class RefreshToken(Model):
    """One issued refresh token; tokens of one sign-in share a family so reuse revokes them all."""

    jti = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    family_id = fields.UUIDField(db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_tokens"


class Job(Model):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="jobs", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(JobKind, max_length=16)
    status = fields.CharEnumField(JobStatus, max_length=16, default=JobStatus.QUEUED)
    params: dict[str, object] = fields.JSONField(default=dict)
    # Relative to the storage directory; cleared once the media has been deleted.
    media_path = fields.CharField(max_length=512, null=True)
    media: dict[str, object] | None = fields.JSONField(null=True)
    model_info: dict[str, object] | None = fields.JSONField(null=True)
    summary: dict[str, object] | None = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    progress = fields.FloatField(default=0.0)
    frames_processed = fields.IntField(default=0)
    frames_total = fields.IntField(null=True)
    processing_speed = fields.FloatField(null=True)
    processing_time = fields.FloatField(null=True)
    estimated_completion = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    # The annotated JPEG/MP4 (params.annotate), relative to the storage directory; cleared
    # when the sweeper deletes it after VIGIL_ANNOTATED_RETENTION_HOURS.
    annotated_path = fields.CharField(max_length=512, null=True)
    annotated_expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("owner_id", "created_at"), ("status", "updated_at"))


class JobFrame(Model):
    """Detections and measurements of one analysed frame; (job, frame_index) is unique so a
    rerun overwrites."""

    id = fields.BigIntField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "models.Job", related_name="frames", on_delete=fields.CASCADE
    )
    frame_index = fields.IntField()
    timestamp_s = fields.FloatField()
    detections: list[dict[str, object]] = fields.JSONField(default=list)
    # People count, crowd level, zone occupancy and motion measurements of the frame.
    metrics: dict[str, object] | None = fields.JSONField(null=True)

    class Meta:
        table = "job_frames"
        unique_together = (("job", "frame_index"),)


class WatchlistEntry(Model):
    """A plate, or a `*`/`?` pattern of plates, that its owner wants to hear about.

    Stored normalised (`shared.plates.normalise_watch_pattern`) so equal entries collide."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="watchlist", on_delete=fields.CASCADE, db_index=True
    )
    kind = fields.CharEnumField(WatchlistKind, max_length=16)
    pattern = fields.CharField(max_length=MAX_WATCH_PATTERN_LENGTH)
    label = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "watchlist_entries"
        unique_together = (("owner", "kind", "pattern"),)
