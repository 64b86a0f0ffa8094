"""All configuration, from the environment or `.env` (every setting is in `.env.example`).

A leaf: this module imports nothing of the project, so any module may read the settings. What
only the domain can judge (plate formats, detector names, webhook allow-lists) each process
checks as it starts, through shared/configured.py."""

from __future__ import annotations

import ipaddress
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"change-me", "changeme", "secret", "password", "default", "vigil", "test", "example", ""}
)
# Fragments that mark a value copied from documentation rather than generated.
PLACEHOLDER_FRAGMENTS = ("change-me", "changeme", "change_me", "replace-me", "your-secret")
# HS256 keys and the keys derived from this one are 256-bit: a shorter secret is what an
# offline brute force of one's own access token gets through.
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 10
MB = 1024 * 1024
ICE_URL_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
TURN_URL_SCHEMES = ("turn:", "turns:")
# A container's CPU quota (cgroup v2): "max 100000" or "<quota µs> <period µs>".
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


class IceServerSetting(BaseModel):
    """One entry of VIGIL_WEBRTC_ICE_SERVERS, in the browser's RTCIceServer shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: SecretStr | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_url_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _known_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.lower().startswith(ICE_URL_SCHEMES):
                raise ValueError(f"VIGIL_WEBRTC_ICE_SERVERS: {url!r} is not a stun: or turn: URL")
        return urls

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> IceServerSetting:
        # A username alone would reach browsers as a TURN login that cannot work.
        if (self.username is None) != (self.credential is None):
            raise ValueError(
                "VIGIL_WEBRTC_ICE_SERVERS: an entry's username and credential go together"
            )
        return self

    @property
    def is_turn(self) -> bool:
        """A TURN server (which wants credentials), rather than a STUN one."""
        return any(url.lower().startswith(TURN_URL_SCHEMES) for url in self.urls)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VIGIL_",
        env_file=".env",
        extra="ignore",
        protected_namespaces=(),
        # A refused setting is reported by name only: pydantic would print every input value
        # (the secret key, passwords in URLs) into the log of a service that will not start.
        hide_input_in_errors=True,
    )

    # `prod` unless told otherwise: a deployment that forgets VIGIL_ENV gets the strict checks.
    env: Literal["dev", "test", "prod"] = "prod"
    # Log level of every process (the access log writes at INFO whatever this says).
    log_level: str = "INFO"

    # Postgres, the record of users, jobs and results (`make run` creates the database).
    database_url: str = "postgres://postgres@127.0.0.1:5432/vigil"
    # Redis: the Celery broker, job events, rate-limit windows and the metrics store.
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Required in every environment: at least 32 random characters. The JWT signing key and
    # the API-key hashing key are derived from it (shared/keys.py).
    secret_key: SecretStr = SecretStr("")
    # Lifetime of an access token.
    access_token_ttl_s: int = Field(default=15 * 60, gt=0)
    # Lifetime of a refresh token; each use rotates it.
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, gt=0)
    # A sign-in's refresh tokens stop working this long after the sign-in, however often they
    # rotate: a stolen chain cannot be kept alive for ever.
    session_max_age_s: int = Field(default=30 * 24 * 3600, gt=0)
    # A password change also revokes the user's API keys (in the same transaction).
    revoke_api_keys_on_password_change: bool = False
    # Argon2 hashes computed at once, in threads of their own: sign-ins must neither block the
    # event loop nor take every thread the rest of the API needs.
    password_hash_concurrency: int = Field(default=2, ge=1, le=16)
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed; empty: none, and the
    # client is the socket peer. Never `*` or a /0: any client could then pick its address.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Who may create an account with POST /auth/signup: anyone (`open`), holders of an invite
    # code from `python -m api.admin invite` (`invite`), or nobody (`closed`: operators create
    # users with `python -m api.admin create-user`). Unset: `open` in dev, `closed` otherwise,
    # so that a deployment is not open to whoever reaches its port by default.
    signup: Literal["open", "invite", "closed"] | None = None

    # Uploads and annotated output; the API and the workers must see the same directory.
    storage_dir: Path = Path("var/storage")
    # Where the weights are read from (relative to the working directory); `vigil models
    # fetch` writes them there (see docs/operations.md#models).
    model_dir: Path = Path("models")
    # The detector in VIGIL_MODEL_DIR: a `.pt` or `.onnx` file or an OpenVINO folder (a bare
    # official `.pt` name is downloaded by ultralytics where the machine is online).
    model_name: str = "yolov8n_int8_openvino_model"
    # The fine-tuned YOLO whose `plate` class the `plate_model` localisation uses.
    plate_model_name: str = "plate_int8_openvino_model"
    # Where OpenVINO keeps the models it compiled, so that a restart loads them in well under
    # a second; unset: `model-cache` in VIGIL_STORAGE_DIR (a volume that outlives containers).
    model_cache_dir: Path | None = None
    # `auto`: easyocr where its weights are in VIGIL_MODEL_DIR/easyocr, rapidocr otherwise.
    ocr_engine: Literal["auto", "rapidocr", "easyocr"] = "auto"
    # Regular expressions over normalised plate text, per region, tried in this order when a
    # job names no region; unset: the built-in `uk`, `in`, `eu` and `us` formats.
    plate_formats: dict[str, list[str]] | None = None
    # The region a job's `plates` detector reads with when it names none; empty: any format.
    plate_region: str | None = None

    # Image upload limit, enforced while the upload streams (413 above it).
    max_image_bytes: int = Field(default=10 * MB, gt=0)
    # Video upload limit, enforced while the upload streams (413 above it).
    max_video_bytes: int = Field(default=50 * MB, gt=0)
    # Larger images are refused (422), also when only their header claims the size.
    max_image_pixels: int = Field(default=50_000_000, gt=0)
    # How long POST /process/image waits for the worker before answering 202 with the job.
    image_wait_s: float = Field(default=10.0, ge=0)
    # Uploaded images fully decoded by the API at once (each up to 4 bytes a pixel): the
    # bound on the memory that checking uploads takes, whatever the number of clients.
    media_check_concurrency: int = Field(default=2, ge=1)
    # Video limits, checked from the container at upload and by ffprobe in the worker before
    # any frame is decoded: a small file can otherwise hold thousands of huge frames.
    # DCI 4K (4096x2160) per frame, so 4K surveillance cameras pass.
    max_video_pixels: int = Field(default=4096 * 2160, gt=0)
    # One hour at 30 fps.
    max_video_frames: int = Field(default=108_000, gt=0)
    # The longest video accepted, in seconds.
    max_video_duration_s: float = Field(default=4 * 3600.0, gt=0)
    # Frames decoded x pixels per frame, per job: about an hour of 1080p at 25 fps.
    max_video_decoded_pixels: int = Field(default=200_000_000_000, gt=0)
    # Codecs (ffmpeg names) the worker decodes; anything else is refused, never decoded.
    video_codecs: list[str] = Field(
        default_factory=lambda: ["h264", "hevc", "mpeg4", "mjpeg", "vp8", "vp9", "av1"],
        min_length=1,
    )
    # How long the worker's ffprobe may inspect a video before the job fails.
    video_probe_timeout_s: float = Field(default=60.0, gt=0)
    # Per-user quotas. Jobs queued or processing: one account cannot fill the queue (429).
    max_active_jobs_per_user: int = Field(default=20, ge=1)
    # Uploads waiting for analysis plus annotated outputs kept, per user (413 above it).
    max_storage_bytes_per_user: int = Field(default=5 * 1024 * MB, gt=0)
    # Uploads no job refers to (their API process died before recording the job) are
    # deleted by the sweeper once this old.
    orphan_upload_after_s: float = Field(default=24 * 3600.0, gt=0)

    # Deliveries of one job to a worker before it is marked failed.
    job_max_attempts: int = Field(default=3, ge=1)
    # Celery's soft limit for an image job (it fails cleanly); below the hard limit.
    image_soft_time_limit_s: int = Field(default=60, gt=0)
    # Celery's hard limit for an image job: its worker process is killed.
    image_time_limit_s: int = Field(default=90, gt=0)
    # Celery's soft limit for a video job (it fails cleanly); below the hard limit.
    video_soft_time_limit_s: int = Field(default=1800, gt=0)
    # Celery's hard limit for a video job: its worker process is killed.
    video_time_limit_s: int = Field(default=1900, gt=0)
    # An unacknowledged task is handed to another worker after this long, so it must
    # exceed the video hard limit (checked at start).
    broker_visibility_timeout_s: int = Field(default=3600, gt=0)
    # How often a running video writes its frames and progress.
    progress_interval_s: float = Field(default=1.0, gt=0)
    # How often the sweepers run (lost jobs, dead workers, due webhooks, expired files).
    sweep_interval_s: float = Field(default=30.0, gt=0)
    # A job queued this long is sent again (a duplicate message does nothing).
    requeue_after_s: float = Field(default=300.0, gt=0)
    # A processing job silent this long is presumed dead and queued again.
    stale_after_s: float = Field(default=120.0, gt=0)

    # Processes per analysis worker; each loads its own models.
    worker_concurrency: int = Field(default=1, ge=1)
    # Detectors each worker process builds (and so loads the models of) as it starts; unset:
    # every detector; an empty list loads everything lazily on the first job that needs it.
    # The plates detector's OCR engine is not among them: see VIGIL_WARMUP_OCR.
    warmup_detectors: list[str] | None = None
    # Also load the plate reader's OCR engine (VIGIL_OCR_ENGINE's) as each worker process and
    # camera runner starts. Off, it loads with the first analysis that reads plates: it brings
    # its runtime and models into the process (rapidocr: ONNX Runtime, about 120 MB), which a
    # worker that never reads a plate need not hold.
    warmup_ocr: bool = False
    # How long annotated JPEG/MP4 output is kept before the sweeper deletes it.
    annotated_retention_hours: float = Field(default=72.0, gt=0)
    # The address `make run` serves the API on.
    api_host: str = "127.0.0.1"
    # The port `make run` serves the API on.
    api_port: int = 8000
    # API processes (uvicorn workers) that `make run` and the API image serve with; unset: one
    # per core this process may use (its CPU affinity, within a container's CPU quota). What
    # the API bounds in memory is bounded per process: VIGIL_PASSWORD_HASH_CONCURRENCY and
    # VIGIL_MEDIA_CHECK_CONCURRENCY apply to each.
    api_workers: int | None = Field(default=None, ge=1)
    # The port `make run` serves Flower (the Celery dashboard) on.
    flower_port: int = 5555
    # Flower's basic-auth user.
    flower_user: str = "admin"
    # Flower's basic-auth password for `make run`, which generates one when this is unset or a
    # placeholder; the compose file requires one. The API and the workers never use it.
    flower_password: SecretStr = SecretStr("")

    # Browser origins allowed to call the API (CORS); empty: no cross-origin browser access.
    cors_origins: list[str] = Field(default_factory=list)
    # When set, GET /metrics requires `Authorization: Bearer <this token>`.
    metrics_token: SecretStr | None = None
    # Swagger UI (/docs, served from the API's own static files) and /openapi.json; off for a
    # deployment that would rather not describe its API to whoever reaches it.
    docs_enabled: bool = True
    # Files one POST /process/batch may carry (413 above it).
    max_batch_files: int = Field(default=20, ge=1)

    # The largest request body a route reads (413 above it), except the upload routes, whose
    # outer bound follows from the upload limits: the application reads bodies whole.
    max_body_bytes: int = Field(default=1 * MB, gt=0)
    # Health checks: how long one look at every dependency is reused (however many callers
    # ask) and how long each dependency may take to answer it.
    health_cache_s: float = Field(default=5.0, gt=0)
    # How long each dependency may take to answer a health check.
    health_timeout_s: float = Field(default=2.0, gt=0)
    # Connect and command timeouts: a dependency that stops answering costs a request this
    # long (then 503), never a hang. Postgres statements may run longer than they take to connect.
    redis_timeout_s: float = Field(default=2.0, gt=0)
    # Connect and command timeout towards the Celery broker.
    broker_timeout_s: float = Field(default=4.0, gt=0)
    # Connect timeout towards Postgres.
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    # The longest a Postgres statement may run.
    db_command_timeout_s: float = Field(default=60.0, gt=0)

    # Requests per minute; Redis-backed fixed windows, 429 with Retry-After above them.
    rate_limit_enabled: bool = True
    # Requests per client address (an IPv6 client's /64 network).
    rate_limit_ip_per_minute: int = Field(default=600, gt=0)
    # Authenticated requests per user, whatever token or key they come with.
    rate_limit_user_per_minute: int = Field(default=300, gt=0)
    # Requests per API key (they count against the owner's limit too).
    rate_limit_api_key_per_minute: int = Field(default=600, gt=0)
    # Health checks per client address per minute: generous for monitors, but not unlimited,
    # as they need no credentials.
    rate_limit_health_per_minute: int = Field(default=300, gt=0)
    # Sign-up, sign-in and token refresh, per client IP: the brute-force guard.
    rate_limit_auth_per_minute: int = Field(default=10, gt=0)
    # Failed sign-ins per account per hour from all networks together (distributed guessing);
    # past it, only networks with no failure at that account this hour may still sign in.
    rate_limit_signin_per_account_per_hour: int = Field(default=100, gt=0)
    # Failed sign-ins per account per hour from one network (IPv4 /24, IPv6 /56); past it
    # that network gets 429 for the account, while its owner elsewhere still signs in.
    rate_limit_signin_failures_per_network_per_hour: int = Field(default=10, gt=0)

    # Webhook delivery (a worker on the `webhooks` queue).
    # Timeout of each phase of an attempt: connecting, sending, each wait on the answer.
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Attempts per delivery before it is marked failed.
    webhook_max_attempts: int = Field(default=8, ge=1)
    # The first wait between attempts; each next one is four times longer (with jitter).
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    # The longest wait between attempts, also when a Retry-After asks for more.
    webhook_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    # An endpoint is disabled after this many deliveries in a row failed for good.
    webhook_disable_after: int = Field(default=5, ge=1)
    # At most one job.progress webhook per job per this many seconds.
    webhook_progress_interval_s: float = Field(default=10.0, gt=0)
    # Networks (CIDR) or host names webhooks may reach although private, loopback or
    # link-local, each on the ports it names (`10.20.0.0/16:443`, `[fd00::/8]:8000-8999`,
    # `hooks.internal:80,443`); everything else of that kind is refused (SSRF guard). Ports are
    # required, so opening a network for one receiver does not open every service in it.
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    # The ports webhooks may use towards public addresses (`80,443,8000-8999`): the sender must
    # not be a POST proxy, with read-back, to any service on the internet. Web ports only by
    # default: a receiver is a web server.
    webhook_public_ports: str = "80,443,8080,8443"
    # The whole of one attempt (connect, send, answer), whatever the per-phase timeout: a
    # receiver answering just in time must not hold a sender for long.
    webhook_deadline_s: float = Field(default=15.0, gt=0)
    # Attempts in flight at once per endpoint and per owner, across every sender: one tenant's
    # slow receivers must not hold all the senders.
    webhook_endpoint_concurrency: int = Field(default=2, ge=1)
    # Attempts in flight at once for all of one owner's endpoints.
    webhook_owner_concurrency: int = Field(default=2, ge=1)
    # Redeliveries a user may ask for per endpoint (or for their callback URLs) per minute.
    webhook_redeliver_per_minute: int = Field(default=30, gt=0)
    # After a secret rotation, webhooks carry a signature with the old secret too for this
    # long, so receivers can switch over without rejecting anything.
    webhook_secret_overlap_s: float = Field(default=24 * 3600.0, ge=0)
    # Processes of the webhook worker.
    webhook_concurrency: int = Field(default=4, ge=1)

    # Cameras one user may register (more answer 409).
    max_cameras_per_user: int = Field(default=16, ge=1)
    # Key (32 bytes, base64) that encrypts camera credentials at rest (AES-GCM). Unset, a key
    # derived from VIGIL_SECRET_KEY is used; set it to rotate VIGIL_SECRET_KEY without losing
    # the cameras' passwords.
    camera_secrets_key: SecretStr | None = None
    # Networks (CIDR) camera URLs may point at although loopback, link-local, multicast or
    # unspecified; private (LAN) addresses are always allowed, because that is where cameras are.
    camera_allowed_networks: list[str] = Field(default_factory=list)
    # Folder whose videos may be registered as `file://` cameras (played in a loop: demos);
    # unset, file cameras are refused.
    camera_file_root: Path | None = None
    # The most analysed frames per second a camera may ask for; higher asks are capped, with a
    # warning in the answer.
    camera_max_detect_fps: float = Field(default=10.0, gt=0, le=60)
    # Seconds to wait for a camera's stream to open: above its keyframe interval, or the first
    # picture never comes.
    camera_open_timeout_s: float = Field(default=10.0, gt=0)
    # The shortest a read from an open camera waits before the capture gives up on it; a
    # camera's `stall_timeout_s` above it is what applies.
    camera_read_timeout_s: float = Field(default=3.0, gt=0)
    # A runner holds each camera for this long per renewal; when a runner dies, another takes
    # its cameras over after at most this long.
    camera_lease_s: float = Field(default=6.0, gt=0)
    # How often a runner renews its leases and writes each camera's figures.
    camera_renew_interval_s: float = Field(default=2.0, gt=0)
    # Cameras one runner process analyses at most (its capacity).
    runner_max_cameras: int = Field(default=8, ge=1)
    # Redis for camera events (`redis://…`); unset, VIGIL_REDIS_URL. Point it at an existing
    # Redis that your consumers read.
    events_redis_url: str | None = None
    # The Redis Stream camera events are appended to.
    events_stream: str = Field(default="stream:events", min_length=1, max_length=200)
    # Approximate length the stream is trimmed to (XADD MAXLEN ~): the oldest events go first.
    events_maxlen: int = Field(default=100_000, ge=100)
    # Also write each event's JSON into a `data` field, for consumers that read it there (the
    # camera-analytics API's publishing example); `payload` carries the same JSON either way.
    events_data_field: bool = True
    # Events a runner keeps while Redis is unreachable; beyond this the oldest are dropped
    # (and counted), so analysis never waits on the bus.
    events_buffer_max: int = Field(default=10_000, ge=1)
    # Lifetime of the signed URLs that let an <img> show a camera's snapshot or MJPEG stream.
    camera_view_token_ttl_s: int = Field(default=60, gt=0, le=3600)

    # STUN and TURN servers for the live view (WebRTC), as a JSON list of
    # {"urls": "turn:turn.example.com:3478", "username": ..., "credential": ...}; browsers and
    # the live service get the same list. Empty: none, so nothing is sent to a public STUN
    # server and only host candidates are offered (enough when the browser can reach the live
    # service's address, as on a LAN or a VPN). See docs/live-view.md for when TURN is needed.
    webrtc_ice_servers: list[IceServerSetting] = Field(default_factory=list)
    # coturn's `static-auth-secret` (its `use-auth-secret` REST scheme): with it, every
    # `turn:`/`turns:` entry without a username gets ephemeral credentials per user.
    webrtc_turn_secret: SecretStr | None = None
    # How long those ephemeral TURN credentials stay valid, in seconds.
    webrtc_turn_ttl_s: int = Field(default=86_400, ge=60, le=7 * 86_400)
    # Live view sessions open at once across all users (more answer 503 with Retry-After).
    webrtc_max_sessions: int = Field(default=20, ge=1)
    # Live view sessions one user may have open at once (more answer 429 with Retry-After).
    webrtc_max_sessions_per_user: int = Field(default=4, ge=1, le=100)
    # A live view session is closed after this many seconds; the viewer reconnects for more.
    webrtc_max_session_s: int = Field(default=3600, ge=30)
    # How long the API waits for a live service to answer an offer before answering 503.
    webrtc_offer_timeout_s: float = Field(default=10.0, gt=0, le=60)

    @field_validator(
        "api_workers",
        "plate_region",
        "model_cache_dir",
        "metrics_token",
        "signup",
        "camera_secrets_key",
        "camera_file_root",
        "events_redis_url",
        "webrtc_turn_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            check_trusted_proxy(entry)
        return entries

    @field_validator("camera_allowed_networks")
    @classmethod
    def _check_camera_allowed_networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            check_camera_network(entry)
        return entries

    @model_validator(mode="after")
    def _check(self) -> Settings:
        # Here rather than in a field validator: the (empty) default must be refused too.
        check_secret_key(self.secret_key.get_secret_value())
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
        if self.stale_after_s <= self.progress_interval_s * 5:
            raise ValueError("VIGIL_STALE_AFTER_S must be well above VIGIL_PROGRESS_INTERVAL_S")
        # A lease must outlast a missed renewal and the runner's 1 s fencing margin, or a busy
        # moment would stop cameras that nobody else has taken.
        if self.camera_lease_s <= 2 * self.camera_renew_interval_s + 1:
            raise ValueError(
                "VIGIL_CAMERA_LEASE_S must exceed 2 * VIGIL_CAMERA_RENEW_INTERVAL_S + 1 s"
            )
        # A TURN server always wants credentials: fixed ones in the entry, or ephemeral ones.
        for server in self.webrtc_ice_servers:
            if server.is_turn and server.username is None and self.webrtc_turn_secret is None:
                raise ValueError(
                    "VIGIL_WEBRTC_ICE_SERVERS: a turn: entry needs a username and credential, "
                    "or VIGIL_WEBRTC_TURN_SECRET for ephemeral ones"
                )
        return self

    @property
    def signup_mode(self) -> Literal["open", "invite", "closed"]:
        if self.signup is not None:
            return self.signup
        return "open" if self.env == "dev" else "closed"

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    @property
    def uploads_dir(self) -> Path:
        return self.storage_dir / "uploads"

    @property
    def events_redis(self) -> str:
        return self.events_redis_url or self.redis_url

    @property
    def api_processes(self) -> int:
        return self.api_workers or available_cores()

    @property
    def model_path(self) -> Path:
        return self.model_dir / self.model_name

    @property
    def compiled_model_dir(self) -> Path:
        return self.model_cache_dir or self.storage_dir / "model-cache"


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota
    (`cpus:` in the compose file), which the affinity does not show."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 CPU controller here: the affinity is the limit
    return max(1, cores)


def check_secret_key(secret: str) -> None:
    """Refuses what is not a random secret of MIN_SECRET_KEY_LENGTH characters or more."""
    folded = secret.strip().lower()
    if folded in PLACEHOLDER_SECRETS or any(part in folded for part in PLACEHOLDER_FRAGMENTS):
        raise ValueError(
            "VIGIL_SECRET_KEY must be set to a random secret, not a placeholder; "
            + SECRET_KEY_HOWTO
        )
    if len(secret) < MIN_SECRET_KEY_LENGTH or len(set(secret)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        raise ValueError(
            f"VIGIL_SECRET_KEY is too weak (at least {MIN_SECRET_KEY_LENGTH} random characters); "
            + SECRET_KEY_HOWTO
        )


SECRET_KEY_HOWTO = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def check_trusted_proxy(entry: str) -> None:
    """One VIGIL_TRUSTED_PROXIES entry: an address or network, never one that holds everyone."""
    try:
        network = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(
            f"VIGIL_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network"
        ) from exc
    if network.prefixlen == 0:
        raise ValueError(
            f"VIGIL_TRUSTED_PROXIES: {entry!r} would let any client choose its own address; "
            "list the proxies' addresses"
        )


def check_camera_network(entry: str) -> None:
    """One VIGIL_CAMERA_ALLOWED_NETWORKS entry: an address or a CIDR network (host bits clear)."""
    try:
        ipaddress.ip_network(entry.strip())
    except ValueError as exc:
        raise ValueError(
            f"VIGIL_CAMERA_ALLOWED_NETWORKS: {entry!r} is not a CIDR network (such as "
            f"192.0.2.0/24 or fd00::/8, host bits clear) ({exc})"
        ) from exc


@lru_cache
def get_settings() -> Settings:
    return Settings()


class BrokerSettings(BaseSettings):
    """What Flower needs and no more: the broker's address. The full Settings demand the
    secret key and the database URL, which a dashboard that can be reached over the network
    must not hold."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
