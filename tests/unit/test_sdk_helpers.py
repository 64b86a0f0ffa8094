"""The SDK's pure helpers: `--param` parsing, telling images from videos, webhook signatures."""

from __future__ import annotations

import base64
import json
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook as ReferenceWebhook
from vigil_sdk import WebhookVerificationError, __version__, verify_webhook
from vigil_sdk.params import parse_pairs
from vigil_sdk.signatures import sign
from vigil_sdk.uploads import upload_type

from tests.conftest import REPO_ROOT
from tests.media import BUS, CARS_MP4, PEDESTRIANS, PLATE_PNG


def test_param_pairs_are_json_or_text_and_lists_split_on_commas() -> None:
    pairs = [
        "max_frames=100",
        "annotate=true",
        "classes=person, car",
        "detectors=people",
        'zones=[{"name": "a", "polygon": [[0, 0], [1, 0], [1, 1]]}]',
        'tracking={"tracker": "botsort"}',
        "region=uk",
        "label=a=b",
    ]
    assert parse_pairs(pairs) == {
        "max_frames": 100,
        "annotate": True,
        "classes": ["person", "car"],
        "detectors": ["people"],
        "zones": [{"name": "a", "polygon": [[0, 0], [1, 0], [1, 1]]}],
        "tracking": {"tracker": "botsort"},
        "region": "uk",
        "label": "a=b",
    }


@pytest.mark.parametrize("pair", ["max_frames", "=3", ""])
def test_a_pair_without_key_or_value_is_refused(pair: str) -> None:
    with pytest.raises(ValueError, match="key=value"):
        parse_pairs([pair])


def test_upload_type_reads_the_bytes_before_the_name(tmp_path: Path) -> None:
    assert (upload_type(BUS).kind, upload_type(BUS).content_type) == ("image", "image/jpeg")
    assert upload_type(PLATE_PNG).content_type == "image/png"
    assert upload_type(CARS_MP4).content_type == "video/mp4"
    assert upload_type(PEDESTRIANS).content_type == "video/x-msvideo"
    disguised = tmp_path / "photo.mp4"
    disguised.write_bytes(BUS.read_bytes()[:64])
    assert upload_type(disguised).kind == "image"
    unknown_bytes = tmp_path / "clip.MOV"
    unknown_bytes.write_bytes(b"\x00" * 64)
    assert upload_type(unknown_bytes).content_type == "video/quicktime"
    neither = tmp_path / "notes.txt"
    neither.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a JPEG"):
        upload_type(neither)


SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()


def test_signatures_match_the_standard_webhooks_reference() -> None:
    body = json.dumps({"type": "job.completed", "data": {"job_id": "x"}}).encode()
    now = int(time.time())
    reference = ReferenceWebhook(SECRET).sign(
        "msg_1", datetime.fromtimestamp(now, UTC), body.decode()
    )
    assert sign(SECRET, "msg_1", now, body) == reference
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": reference}
    assert verify_webhook(SECRET, headers, body) == json.loads(body)


def test_forged_stale_or_headerless_webhooks_are_refused() -> None:
    body = b'{"type": "job.completed"}'
    now = int(time.time())
    good = sign(SECRET, "msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now)}
    # During a rotation several signatures come space-separated; one matching is enough.
    rotating = {**headers, "webhook-signature": f"v1,bm90IGl0 {good}"}
    assert verify_webhook(SECRET, rotating, body) == {"type": "job.completed"}
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify_webhook(SECRET, {**headers, "webhook-signature": good}, body + b" ")
    stale = {"webhook-id": "msg_1", "webhook-timestamp": str(now - 3600)}
    stale["webhook-signature"] = sign(SECRET, "msg_1", now - 3600, body)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(SECRET, stale, body)
    with pytest.raises(WebhookVerificationError, match="header"):
        verify_webhook(SECRET, headers, body)


@pytest.mark.parametrize(
    ("timestamp", "signature", "match"),
    [
        (None, "v1,é", "signature"),
        (None, "v1,\u2603 v1,abc", "signature"),
        ("9" * 400, "v1,abc", "tolerance"),
        ("9" * 5000, "v1,abc", "header"),
        ("soon", "v1,abc", "header"),
    ],
)
def test_garbled_headers_are_refused_as_unverified(
    timestamp: str | None, signature: str, match: str
) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp or str(int(time.time())),
        "webhook-signature": signature,
    }
    with pytest.raises(WebhookVerificationError, match=match):
        verify_webhook(SECRET, headers, b"{}")


def test_the_package_version_is_the_distributions() -> None:
    project = tomllib.loads((REPO_ROOT / "sdk" / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
