"""Checking that a webhook came from Vigil (the Standard Webhooks scheme): for a receiver
written in Python, with the endpoint's `whsec_...` secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    pass


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value Vigil sends for this message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, *, tolerance_s: int = TOLERANCE_S
) -> dict[str, Any]:
    """The payload of a genuine, recent delivery; WebhookVerificationError otherwise. `headers`
    must look names up case-insensitively (as web frameworks' header mappings do) or be given
    in lower case; `body` is the raw request body, before any JSON parsing."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise WebhookVerificationError(f"missing or malformed webhook header: {exc}") from exc
    # In whole seconds: an absurdly long timestamp would overflow a float.
    if abs(int(time.time()) - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook timestamp outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    # Several signatures are sent while a secret is being rotated: any one may match. As bytes:
    # compare_digest refuses str with anything but ASCII in it.
    if not any(hmac.compare_digest(expected, each.encode()) for each in signatures):
        raise WebhookVerificationError("no matching webhook signature")
    payload: dict[str, Any] = json.loads(body)
    return payload
