"""The messages and records the API and the live view service exchange over Redis."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from shared.live.protocol import (
    Answer,
    CloseAck,
    CloseRequest,
    OfferFailure,
    OfferRequest,
    SessionRecord,
    control_key,
    new_reply_key,
    parse_reply,
    session_key,
    user_sessions_key,
)


def test_an_offer_request_survives_the_queue() -> None:
    request = OfferRequest(
        session_id=str(uuid.uuid4()),
        owner_id=str(uuid.uuid4()),
        camera_uuid=str(uuid.uuid4()),
        camera_id="gate-north",
        camera_name=None,
        sdp="v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n",
        live_fps=15.0,
        reply_to=new_reply_key(),
        deadline=time.time() + 10,
    )
    assert OfferRequest.model_validate_json(request.model_dump_json()) == request


def test_replies_are_told_apart() -> None:
    answer = Answer(session_id="s1", sdp="v=0\r\n")
    failure = OfferFailure(session_id="s1", error="invalid_offer", status=422, detail="no")
    assert parse_reply(answer.model_dump_json()) == answer
    assert isinstance(parse_reply(answer.model_dump_json().encode()), Answer)
    assert parse_reply(failure.model_dump_json()) == failure


def test_close_messages_survive_the_channel() -> None:
    close = CloseRequest(session_id="s1", reply_to=new_reply_key())
    assert CloseRequest.model_validate_json(close.model_dump_json()) == close
    ack = CloseAck(session_id="s1", closed=True)
    assert CloseAck.model_validate_json(ack.model_dump_json().encode()) == ack


def test_a_session_record_survives_its_hash() -> None:
    record = SessionRecord(
        session_id="s1",
        owner_id=str(uuid.uuid4()),
        camera_uuid=str(uuid.uuid4()),
        camera_id="gate-north",
        process_id="host-12-ab12cd",
        created_at="2026-11-29T13:29:12.345Z",
        connection_state="connected",
        ice_connection_state="completed",
        ice_gathering_state="complete",
        signaling_state="stable",
        frames_sent=42,
    )
    fields = record.to_fields()
    assert "session_id" not in fields
    assert all(isinstance(value, str) for value in fields.values())
    as_redis_returns = {k.encode(): v.encode() for k, v in fields.items()}
    assert SessionRecord.from_fields("s1", as_redis_returns) == record
    assert SessionRecord.from_fields("s1", fields) == record
    # Opened with an API key: which one, so that revoking it ends the session.
    with_key = replace(record, api_key_id=str(uuid.uuid4()))
    assert SessionRecord.from_fields("s1", with_key.to_fields()) == with_key
    assert "api_key_id" not in fields


def test_a_missing_or_damaged_record_is_none() -> None:
    assert SessionRecord.from_fields("s1", {}) is None
    damaged = {"owner_id": "u", "camera_uuid": "c", "camera_id": "x", "process_id": "p"}
    assert SessionRecord.from_fields("s1", damaged) is None
    bad_count = {**damaged, "created_at": "now", "frames_sent": "many"}
    assert SessionRecord.from_fields("s1", bad_count) is None


def test_keys() -> None:
    owner = uuid.UUID(int=7)
    assert session_key("s1") == "vigil:live:session:s1"
    assert user_sessions_key(owner) == f"vigil:live:user:{owner}:sessions"
    assert control_key("p1") == "vigil:live:control:p1"
    assert new_reply_key() != new_reply_key()
