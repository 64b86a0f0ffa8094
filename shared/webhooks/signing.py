"""Standard Webhooks signatures (https://www.standardwebhooks.com): `whsec_` secrets, the
`webhook-id` / `webhook-timestamp` / `webhook-signature` headers and the canonical body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
USER_AGENT = "Vigil-Webhooks/0.1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_msg_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The payload as sent. Sorted keys make every attempt's body byte-identical even though
    Postgres (jsonb) does not keep the order the payload was written in."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: tuple[str, ...], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one attempt, with a signature per secret (space-separated, as the spec
    has it), so a receiver still holding a rotated-out secret can verify too."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
