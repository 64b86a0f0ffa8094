"""Test settings: every test process and every service the suite starts use these.

They are set before anything reads the settings (get_settings() is cached)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
MEDIA_DIR = SHARED_DIR / "media"
RUN_DIR = Path(tempfile.mkdtemp(prefix="vigil-tests-"))
TEST_DB = f"vigil_test_{uuid.uuid4().hex[:10]}"

TEST_ENV = {
    "VIGIL_ENV": "test",
    # Most tests sign users up; the sign-up mode tests start APIs of their own with other modes.
    "VIGIL_SIGNUP": "open",
    "VIGIL_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{TEST_DB}",
    # A database of its own, flushed at the start, so a running `make run` is not disturbed;
    # VIGIL_TEST_REDIS_DB picks another so that two test runs on one machine keep apart.
    "VIGIL_REDIS_URL": f"redis://127.0.0.1:6379/{os.environ.get('VIGIL_TEST_REDIS_DB', '14')}",
    "VIGIL_SECRET_KEY": "test-secret-key-long-enough-for-hs256",
    "VIGIL_FLOWER_PASSWORD": "test-flower-password",
    # Outside dev, /metrics answers only with this token (tests/integration/test_metrics.py).
    "VIGIL_METRICS_TOKEN": "test-metrics-token",
    "VIGIL_STORAGE_DIR": str(RUN_DIR / "storage"),
    "VIGIL_MODEL_DIR": str(SHARED_DIR / "models"),
    "VIGIL_IMAGE_WAIT_S": "30",
    "VIGIL_PROGRESS_INTERVAL_S": "0.5",
    "VIGIL_SWEEP_INTERVAL_S": "1",
    "VIGIL_REQUEUE_AFTER_S": "2",
    "VIGIL_STALE_AFTER_S": "6",
    "VIGIL_LOG_LEVEL": "INFO",
    # Webhook receivers in the tests listen on loopback, which the SSRF guard refuses otherwise:
    # on ephemeral ports, or on 9 (discard, where nothing listens) for endpoints never reached.
    "VIGIL_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8:9,1024-65535"]',
    # The test camera (tests/fixtures/) serves RTSP on loopback, which camera URLs may not
    # point at otherwise; the camera API tests start an API without it to see the refusal.
    "VIGIL_CAMERA_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    # The sender in the tests has two processes: one endpoint must leave the other free.
    "VIGIL_WEBHOOK_ENDPOINT_CONCURRENCY": "1",
    "VIGIL_WEBHOOK_TIMEOUT_S": "2",
    "VIGIL_WEBHOOK_BACKOFF_BASE_S": "0.2",
    "VIGIL_WEBHOOK_BACKOFF_MAX_S": "2",
    "VIGIL_WEBHOOK_PROGRESS_INTERVAL_S": "1",
    # Every test talks from 127.0.0.1: the shared stack's limits stay out of the way, and the
    # rate-limit tests start an API of their own with low ones.
    "VIGIL_RATE_LIMIT_IP_PER_MINUTE": "1000000",
    "VIGIL_RATE_LIMIT_HEALTH_PER_MINUTE": "1000000",
    "VIGIL_RATE_LIMIT_USER_PER_MINUTE": "1000000",
    "VIGIL_RATE_LIMIT_API_KEY_PER_MINUTE": "1000000",
    "VIGIL_RATE_LIMIT_AUTH_PER_MINUTE": "1000000",
    "VIGIL_RATE_LIMIT_SIGNIN_PER_ACCOUNT_PER_HOUR": "1000000",
    "VIGIL_RATE_LIMIT_SIGNIN_FAILURES_PER_NETWORK_PER_HOUR": "1000000",
}
os.environ.update(TEST_ENV)

# The RTSP test camera (a real GStreamer server on loopback) for every test that needs one, and
# the session's stack (API, workers, camera runner, live view) for the integration and browser
# tests alike.
pytest_plugins = [
    "tests.fixtures.rtsp_camera",
    "tests.fixtures.stack",
    "tests.fixtures.redis_server",
]
