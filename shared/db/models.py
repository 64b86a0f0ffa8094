"""The record: users, their refresh tokens and API keys, jobs, per-frame results, plate
watchlists, webhook endpoints with their deliveries, the security audit trail, and cameras
with their runners and searchable events. Postgres is the source of truth."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from shared.db.enums import (
    CameraDesiredState,
    CameraEventType,
    CameraState,
    DeliveryStatus,
    JobKind,
    JobStatus,
    WatchlistKind,
)
from shared.plates import MAX_WATCH_PATTERN_LENGTH


class User(Model):
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255)
    full_name = fields.CharField(max_length=200, null=True)
    is_active = fields.BooleanField(default=True)
    is_superuser = fields.BooleanField(default=False)
    # Signs the webhooks sent to jobs' `callback_url`s (Standard Webhooks `whsec_...`); set and
    # rotated by POST /webhooks/callback-secret, which shows it once.
    callback_secret = fields.CharField(max_length=100, null=True)
    # The callback secret a rotation replaced, still signing alongside the new one until
    # `previous_callback_secret_until`, as an endpoint's `previous_secret` does.
    previous_callback_secret = fields.CharField(max_length=100, null=True)
    previous_callback_secret_until = fields.DatetimeField(null=True)
    # Bumped by a password change and by signing out everywhere: access tokens carry the
    # version they were issued under, and one from an older version is refused.
    token_version = fields.IntField(default=0)
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


class RefreshFamily(Model):
    """One sign-in's chain of refresh tokens. A rotation locks this row, so revoking it ends
    every token of the chain, a successor issued concurrently included; the chain lives at most
    VIGIL_SESSION_MAX_AGE_S however often it rotates."""

    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_families", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_families"


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
    # Where this job's job.completed / job.failed webhook goes, besides the owner's endpoints.
    callback_url = fields.CharField(max_length=2048, null=True)

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


class ApiKey(Model):
    """A machine credential acting as its owner within its scopes. Only an HMAC-SHA256 of the
    key (under the server secret) is stored; the key itself is shown once, at creation."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", on_delete=fields.CASCADE, db_index=True
    )
    name = fields.CharField(max_length=200)
    # The key's first characters, so a user can tell keys apart without the secret.
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # Space-separated, as OAuth scopes are (api.api_keys.scopes); the default is also what keys
    # made before scopes existed get: jobs and watchlists, not keys or webhooks.
    scopes = fields.CharField(max_length=64, default="read write")
    expires_at = fields.DatetimeField(null=True)
    # The key this one was made with, if any: revoking a key revokes every key made with it.
    created_by_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="created_keys", on_delete=fields.CASCADE, null=True
    )
    created_by_key_id: UUID | None  # the column behind it, for type checkers

    class Meta:
        table = "api_keys"


class Invite(Model):
    """A single-use sign-up code (VIGIL_SIGNUP=invite). Only a SHA-256 of the code is stored;
    the code itself is shown once, to the operator who made it."""

    id = fields.UUIDField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invites_used", on_delete=fields.SET_NULL, null=True
    )

    class Meta:
        table = "invites"


class WebhookEndpoint(Model):
    """A URL its owner registered for the event types it lists."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="webhook_endpoints", on_delete=fields.CASCADE, db_index=True
    )
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=200, null=True)
    event_types: list[str] = fields.JSONField(default=list)
    # Standard Webhooks `whsec_<base64>`; kept to sign with, shown to the user once.
    secret = fields.CharField(max_length=100)
    # The secret a rotation replaced, still signing alongside the new one until
    # `previous_secret_until`, so receivers can switch over without rejecting webhooks.
    previous_secret = fields.CharField(max_length=100, null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=500, null=True)
    # Deliveries in a row that failed for good (out of attempts, refused, 4xx); reset by a success.
    failure_streak = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_endpoints"


class WebhookDelivery(Model):
    """One message to one destination (the outbox row): written in the transaction that
    produced the event, sent after commit, retried with the same `msg_id` until it succeeds
    or runs out of attempts."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="webhook_deliveries", on_delete=fields.CASCADE
    )
    # Null for a job's callback_url delivery.
    endpoint: fields.ForeignKeyNullableRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE, null=True
    )
    job: fields.ForeignKeyNullableRelation[Job] = fields.ForeignKeyField(
        "models.Job", related_name="webhook_deliveries", on_delete=fields.SET_NULL, null=True
    )
    url = fields.CharField(max_length=2048)
    event_type = fields.CharField(max_length=64)
    # The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    msg_id = fields.CharField(max_length=64, unique=True)
    payload: dict[str, object] = fields.JSONField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    # A sender holds the delivery until then, so a duplicate task or the sweeper skips it.
    locked_until = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "created_at"))


class WebhookAttempt(Model):
    """One HTTP request of a delivery and what came of it."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "models.WebhookDelivery", related_name="attempt_log", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    # Where this attempt went: an endpoint's URL can change between attempts.
    url = fields.CharField(max_length=2048, null=True)
    started_at = fields.DatetimeField()
    duration_ms = fields.IntField()
    status_code = fields.IntField(null=True)
    error = fields.TextField(null=True)
    # The start of the response body, for the user's debugging; never kept for a destination
    # the operator's allow-list opened (a private one).
    response_excerpt = fields.TextField(null=True)

    class Meta:
        table = "webhook_attempts"
        unique_together = (("delivery", "number"),)


class AuditEvent(Model):
    """A security event: sign-in failures, password changes, API key and webhook changes."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_events", on_delete=fields.SET_NULL, null=True
    )
    action = fields.CharField(max_length=64)
    ip = fields.CharField(max_length=64, null=True)
    details: dict[str, object] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_events"
        indexes = (("user_id", "created_at"),)


class Camera(Model):
    """A camera its owner registered: what to analyse (desired state, source, parameters) and
    what its runner last reported (state, lease, generation, figures)."""

    # The camera's global id (`camera_uuid` in events); `camera_id` is the owner's own name.
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="cameras", on_delete=fields.CASCADE
    )
    owner_id: UUID  # the column behind it, for type checkers
    camera_id = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, null=True)
    # The source URL without its credentials, which are in `credentials_enc` alone.
    stream_url = fields.CharField(max_length=2048)
    # AES-GCM of {"username", "password"} (shared/cameras/secrets.py); null when none.
    credentials_enc = fields.TextField(null=True)
    params: dict[str, Any] = fields.JSONField()
    desired_state = fields.CharEnumField(
        CameraDesiredState, max_length=16, default=CameraDesiredState.ACTIVE
    )
    state = fields.CharEnumField(CameraState, max_length=16, default=CameraState.PENDING)
    state_since = fields.DatetimeField(auto_now_add=True)
    last_error = fields.TextField(null=True)
    # The runner holding the camera until `lease_until`; every claim bumps `generation`, so an
    # event or a write from a runner that lost the camera can be told apart and refused.
    runner_id = fields.CharField(max_length=128, null=True)
    lease_until = fields.DatetimeField(null=True)
    generation = fields.IntField(default=0)
    started_at = fields.DatetimeField(null=True)
    last_frame_at = fields.DatetimeField(null=True)
    # The runner's figures (fps in and analysed, resolution, codec, reconnects, events...).
    runtime: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cameras"
        unique_together = (("owner", "camera_id"),)
        indexes = (("desired_state", "lease_until"),)


class CameraRunner(Model):
    """A `python -m worker.cameras` process, by its heartbeat."""

    id = fields.CharField(max_length=128, primary_key=True)
    hostname = fields.CharField(max_length=255)
    pid = fields.IntField()
    capacity = fields.IntField()
    cameras = fields.IntField(default=0)
    version = fields.CharField(max_length=32)
    started_at = fields.DatetimeField(auto_now_add=True)
    heartbeat_at = fields.DatetimeField()

    class Meta:
        table = "camera_runners"


class CameraEvent(Model):
    """A camera event kept for search (plate reads, watchlist matches, state changes): who
    passed which camera when. Every event, these included, is on the Redis Stream as well,
    under the same `event_id`."""

    id = fields.BigIntField(primary_key=True)
    event_id = fields.UUIDField(unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="camera_events", on_delete=fields.CASCADE
    )
    # Kept after the camera is deleted: the history outlives the registration.
    camera_uuid = fields.UUIDField()
    camera_id = fields.CharField(max_length=64)
    type = fields.CharEnumField(CameraEventType, max_length=32)
    plate = fields.CharField(max_length=32, null=True)
    # Capture time of the frame the event is about.
    timestamp = fields.DatetimeField()
    generation = fields.IntField()
    payload: dict[str, Any] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "camera_events"
        indexes = (("owner_id", "timestamp"), ("owner_id", "plate"), ("owner_id", "camera_id"))
