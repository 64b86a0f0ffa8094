from enum import StrEnum


class JobKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class WatchlistKind(StrEnum):
    """How a watchlist entry matches; the values are those of `shared.plates.WatchKind`."""

    EXACT = "exact"
    PATTERN = "pattern"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class CameraDesiredState(StrEnum):
    """What the owner asked for (the camera-analytics API's `status`)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class CameraState(StrEnum):
    """What the camera is doing now, as its runner last reported."""

    PENDING = "pending"  # active, waiting for a runner
    STARTING = "starting"  # claimed, opening the stream
    ONLINE = "online"
    DEGRADED = "degraded"  # analysed fps under 80 % of the target for 30 s
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"  # the source has failed for long; still retried
    STOPPED = "stopped"  # inactive
    ERROR = "error"  # cannot run as configured (bad credentials key, unusable source)


class CameraEventType(StrEnum):
    """The camera events also kept in Postgres (searchable); the rest live on the stream."""

    ANPR = "anpr"
    WATCHLIST_MATCH = "watchlist_match"
    STATUS = "status"
