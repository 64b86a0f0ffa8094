"""All configuration, from the environment or `.env` (every setting is in `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.params import DETECTOR_KINDS
from shared.plates import DEFAULT_PLATE_FORMATS, check_formats
from shared.webhooks.destinations import parse_allow_list

PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "secret", ""})
MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VIGIL_",
        env_file=".env",
        extra="ignore",
        protected_namespaces=(),
    )

    env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"

    database_url: str = "postgres://postgres@127.0.0.1:5432/vigil"
    redis_url: str = "redis://127.0.0.1:6379/0"

    secret_key: SecretStr = SecretStr("change-me")
    access_token_ttl_s: int = Field(default=15 * 60, gt=0)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, gt=0)

    storage_dir: Path = Path("var/storage")
    model_dir: Path = Path("../shared/models")
    model_name: str = "yolov8n_int8_openvino_model"
    # The fine-tuned YOLO whose `plate` class the `plate_model` localisation uses.
    plate_model_name: str = "plate_int8_openvino_model"
    # `auto`: easyocr where its weights are in VIGIL_MODEL_DIR/easyocr, rapidocr otherwise.
    ocr_engine: Literal["auto", "rapidocr", "easyocr"] = "auto"
    # Regular expressions over normalised plate text, per region, tried in this order when a
    # job names no region.
    plate_formats: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PLATE_FORMATS.items()}
    )
    # The region a job's `plates` detector reads with when it names none; empty: any format.
    plate_region: str | None = None

    max_image_bytes: int = Field(default=10 * MB, gt=0)
    max_video_bytes: int = Field(default=50 * MB, gt=0)
    max_image_pixels: int = Field(default=50_000_000, gt=0)
    image_wait_s: float = Field(default=10.0, ge=0)

    job_max_attempts: int = Field(default=3, ge=1)
    image_soft_time_limit_s: int = Field(default=60, gt=0)
    image_time_limit_s: int = Field(default=90, gt=0)
    video_soft_time_limit_s: int = Field(default=1800, gt=0)
    video_time_limit_s: int = Field(default=1900, gt=0)
    broker_visibility_timeout_s: int = Field(default=3600, gt=0)
    progress_interval_s: float = Field(default=1.0, gt=0)
    sweep_interval_s: float = Field(default=30.0, gt=0)
    requeue_after_s: float = Field(default=300.0, gt=0)
    stale_after_s: float = Field(default=120.0, gt=0)

    worker_concurrency: int = Field(default=1, ge=1)
    # Detectors each worker process builds (and so loads the models of) as it starts; an
    # empty list loads everything lazily on the first job that needs it.
    warmup_detectors: list[str] = Field(default_factory=lambda: list(DETECTOR_KINDS))
    annotated_retention_hours: float = Field(default=72.0, gt=0)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    flower_port: int = 5555
    flower_user: str = "admin"
    flower_password: SecretStr = SecretStr("change-me")

    # Browser origins allowed to call the API (CORS); empty: no cross-origin browser access.
    cors_origins: list[str] = Field(default_factory=list)
    # When set, GET /metrics requires `Authorization: Bearer <this token>`.
    metrics_token: SecretStr | None = None
    max_batch_files: int = Field(default=20, ge=1)

    # Requests per minute; Redis-backed fixed windows, 429 with Retry-After above them.
    rate_limit_enabled: bool = True
    rate_limit_ip_per_minute: int = Field(default=600, gt=0)
    rate_limit_user_per_minute: int = Field(default=300, gt=0)
    rate_limit_api_key_per_minute: int = Field(default=600, gt=0)
    # Sign-up, sign-in and token refresh, per client IP: the brute-force guard.
    rate_limit_auth_per_minute: int = Field(default=10, gt=0)
    # Sign-in attempts per account per hour, whatever the IP (spread-out guessing).
    rate_limit_signin_per_account_per_hour: int = Field(default=30, gt=0)

    # Webhook delivery (a worker on the `webhooks` queue).
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    # An endpoint is disabled after this many deliveries in a row failed for good.
    webhook_disable_after: int = Field(default=5, ge=1)
    # At most one job.progress webhook per job per this many seconds.
    webhook_progress_interval_s: float = Field(default=10.0, gt=0)
    # Networks (CIDR) or host names webhooks may reach although private, loopback or
    # link-local; everything else of that kind is refused (SSRF guard).
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    webhook_concurrency: int = Field(default=4, ge=1)

    @field_validator("plate_region", "metrics_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_webhook_allowed_networks(cls, entries: list[str]) -> list[str]:
        parse_allow_list(entries)
        return entries

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.env != "dev":
            for name in ("secret_key", "flower_password"):
                value: SecretStr = getattr(self, name)
                if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"VIGIL_{name.upper()} must be set to a real secret outside dev"
                    )
        if self.video_soft_time_limit_s >= self.video_time_limit_s:
            raise ValueError("VIGIL_VIDEO_SOFT_TIME_LIMIT_S must be below VIGIL_VIDEO_TIME_LIMIT_S")
        if self.image_soft_time_limit_s >= self.image_time_limit_s:
            raise ValueError("VIGIL_IMAGE_SOFT_TIME_LIMIT_S must be below VIGIL_IMAGE_TIME_LIMIT_S")
        # A message whose visibility timeout ends before the task could have finished
        # would be handed to a second worker while the first still runs it.
        if self.broker_visibility_timeout_s <= self.video_time_limit_s:
            raise ValueError(
                "VIGIL_BROKER_VISIBILITY_TIMEOUT_S must exceed VIGIL_VIDEO_TIME_LIMIT_S"
            )
        unknown = sorted(set(self.warmup_detectors) - set(DETECTOR_KINDS))
        if unknown:
            raise ValueError(
                f"VIGIL_WARMUP_DETECTORS names unknown detectors: {', '.join(unknown)} "
                f"(known: {', '.join(DETECTOR_KINDS)})"
            )
        check_formats(self.plate_formats)
        if self.plate_region is not None and self.plate_region not in self.plate_formats:
            raise ValueError(
                f"VIGIL_PLATE_REGION {self.plate_region!r} is not a region of VIGIL_PLATE_FORMATS "
                f"({', '.join(self.plate_formats)})"
            )
        if self.stale_after_s <= self.progress_interval_s * 5:
            raise ValueError("VIGIL_STALE_AFTER_S must be well above VIGIL_PROGRESS_INTERVAL_S")
        return self

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    @property
    def uploads_dir(self) -> Path:
        return self.storage_dir / "uploads"

    @property
    def model_path(self) -> Path:
        return self.model_dir / self.model_name


@lru_cache
def get_settings() -> Settings:
    return Settings()
