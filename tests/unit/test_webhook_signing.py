"""Our signatures verify with the Standard Webhooks reference library, and only untampered; after
a rotation, the replaced secret signs too for the overlap only."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shared.repositories.webhooks import kept_after_rotation, signing_secrets
from shared.webhooks.signing import (
    SECRET_BYTES,
    USER_AGENT,
    body_bytes,
    new_msg_id,
    new_secret,
    sign,
    signed_headers,
)

PAYLOAD = {"type": "job.completed", "timestamp": "2024-05-01T12:00:00+00:00", "data": {"a": "é"}}


def test_secrets_are_whsec_and_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == SECRET_BYTES
    assert new_secret() != secret


def test_msg_ids_are_unique_and_prefixed() -> None:
    ids = {new_msg_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("msg_") and len(i) == 36 for i in ids)


def test_reference_library_verifies_our_signature() -> None:
    secret = new_secret()
    body = body_bytes(PAYLOAD)
    headers = signed_headers((secret,), "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == PAYLOAD
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("part", ["body", "id", "timestamp", "secret"])
def test_tampering_fails_verification(part: str) -> None:
    secret = new_secret()
    now = int(time.time())
    body = body_bytes(PAYLOAD)
    headers = signed_headers((secret,), "msg_1", now, body)
    if part == "body":
        body = body.replace(b"completed", b"failed")
    elif part == "id":
        headers["webhook-id"] = "msg_2"
    elif part == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        secret = new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_during_a_rotation_either_secret_verifies_and_no_other() -> None:
    """F-21: the new and the old secret each sign, so a receiver still on the old one (or
    already on the new one) accepts the webhook."""
    new, old = new_secret(), new_secret()
    body = body_bytes(PAYLOAD)
    headers = signed_headers((new, old), "msg_1", int(time.time()), body)
    first, second = headers["webhook-signature"].split(" ")
    assert first.startswith("v1,")
    assert second.startswith("v1,")
    assert Webhook(new).verify(body, headers) == PAYLOAD
    assert Webhook(old).verify(body, headers) == PAYLOAD
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_the_signature_is_the_spec_s_hmac() -> None:
    # The Standard Webhooks spec's own example secret, id, timestamp and body.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_body_is_the_same_whatever_the_key_order() -> None:
    reordered = {"data": {"a": "é"}, "timestamp": PAYLOAD["timestamp"], "type": PAYLOAD["type"]}
    assert body_bytes(reordered) == body_bytes(PAYLOAD)
    assert body_bytes(PAYLOAD).decode() == (
        '{"data":{"a":"é"},"timestamp":"2024-05-01T12:00:00+00:00","type":"job.completed"}'
    )


def test_a_rotation_keeps_only_the_replaced_secret_and_only_for_the_overlap() -> None:
    """Endpoints and callback secrets alike: the secret replaced signs alongside the new one
    while the overlap lasts; a zero overlap, or a first secret, keeps nothing."""
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert kept_after_rotation("whsec_old", hour, now) == ("whsec_old", now + hour)
    assert kept_after_rotation("whsec_old", timedelta(0), now) == (None, None)
    assert kept_after_rotation(None, hour, now) == (None, None)

    previous, until = kept_after_rotation("whsec_old", hour, now)
    assert signing_secrets("whsec_new", previous, until, now) == ("whsec_new", "whsec_old")
    assert signing_secrets("whsec_new", previous, until, now + hour) == ("whsec_new",)
    assert signing_secrets("whsec_new", None, None, now) == ("whsec_new",)
    assert signing_secrets(None, None, None, now) == ()
