"""Signaling between the API and the live service (`python -m live`), over Vigil's own Redis
(VIGIL_REDIS_URL). The API authenticates, checks the camera is the caller's and hands the offer
over; a live process holds the peer connection. Everything a session is lives in Redis with a
TTL, so any API process can list or close any session, and a dead live process's sessions lapse
on their own.

Keys:
- `vigil:live:processes` (PROCESSES_KEY): sorted set, one member per live process scored by the
  Unix time its heartbeat lapses (renewed every HEARTBEAT_S, PROCESS_TTL_S ahead). The API
  answers 503 at once when no member is scored in the future.
- `vigil:live:offers` (OFFERS_KEY): list of OfferRequest JSON. The API LPUSHes (trimming the
  list to OFFERS_MAX and keeping it OFFERS_TTL_S), a live process BRPOPs, drops a request past
  its `deadline` or with a session id it already holds or is opening (the API's Redis client
  may push a request twice), and answers on the request's `reply_to` list (LPUSH + EXPIRE
  REPLY_TTL_S) with an Answer or an OfferFailure.
- `vigil:live:session:{id}` (session_key): hash of a SessionRecord, EXPIRE SESSION_TTL_S. The
  holder creates it (REGISTER_SCRIPT) only while the session's place is reserved and no record
  exists (a second copy of an offer, answered by another process, is dropped), and refreshes it
  every SESSION_REFRESH_S (REFRESH_SCRIPT) only while it exists: a session whose keys were
  removed (the API closed it) is never brought back, and its holder closes the peer.
- `vigil:live:sessions` and `vigil:live:user:{owner_id}:sessions` (SESSIONS_KEY,
  user_sessions_key): sorted sets of session ids scored by the Unix time they lapse. The API
  reserves a place in both (RESERVE_SCRIPT: per-user and global caps) before it hands an offer
  over, and gives it back when the offer fails; the holder keeps the scores ahead while the
  session lives.
- `vigil:live:control:{process_id}` (control_key): list of CloseRequests for one live process
  (LPUSH + EXPIRE CONTROL_TTL_S; the process BRPOPs it): the holder closes the peer, removes the
  session's keys and answers a CloseAck on `reply_to`. A list rather than a pub/sub channel, so
  that a close sent while the holder is reconnecting to Redis waits for it instead of being lost.
- The camera's viewer set (shared.cameras.events.viewers_key) holds one member per session (its
  id) scored VIEWER_TTL_S ahead, renewed every VIEWER_RENEW_S (VIEWER_SCRIPT) while the
  session's record exists, so the camera's runner writes live frames while anyone watches."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROCESSES_KEY = "vigil:live:processes"
OFFERS_KEY = "vigil:live:offers"
SESSIONS_KEY = "vigil:live:sessions"

# Every offer waiting in the queue holds a place under VIGIL_WEBRTC_MAX_SESSIONS, so the queue
# only grows past that while no live process takes offers (each then lapses at its deadline):
# the oldest are trimmed, and the list lapses a while after the last push.
OFFERS_MAX = 1000
OFFERS_TTL_S = 120

HEARTBEAT_S = 2.0
PROCESS_TTL_S = 6.0
SESSION_TTL_S = 15.0
SESSION_REFRESH_S = 5.0
# Reply lists nobody read (the API gave up waiting) go after this long.
REPLY_TTL_S = 30
# A live process's close list lapses this long after the last close sent to it (it is gone).
CONTROL_TTL_S = 30
# How long the API waits for the holder to acknowledge a close before it removes the session's
# keys itself (the holder is gone).
CLOSE_ACK_TIMEOUT_S = 2.0
VIEWER_TTL_S = 10.0
VIEWER_RENEW_S = 3.0
# The index sets lapse a while after their last write, so a user who never comes back leaves
# nothing behind; every reservation and renewal pushes this out again.
INDEX_TTL_S = 120


def session_key(session_id: str) -> str:
    return f"vigil:live:session:{session_id}"


def user_sessions_key(owner_id: UUID | str) -> str:
    return f"vigil:live:user:{owner_id}:sessions"


def control_key(process_id: str) -> str:
    return f"vigil:live:control:{process_id}"


def new_reply_key() -> str:
    """A list only the asker waits on, for one answer."""
    return f"vigil:live:reply:{uuid.uuid4().hex}"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OfferRequest(_Message):
    session_id: str
    owner_id: str
    camera_uuid: str
    camera_id: str
    camera_name: str | None = None
    sdp: str
    live_fps: float = Field(gt=0, le=60)
    # When the camera's runner last had a frame of it (ISO 8601 UTC), for the "offline since"
    # picture when the camera's frame has lapsed from Redis.
    last_frame_at: str | None = None
    # The API key the offer came with (None: a bearer token), so that revoking that key, or
    # ending the bearer sessions, ends the session too.
    api_key_id: str | None = None
    reply_to: str
    # Unix time after which nobody waits for the answer any more.
    deadline: float


class Answer(_Message):
    session_id: str
    sdp: str
    type: Literal["answer"] = "answer"


class OfferFailure(_Message):
    session_id: str
    # A short code (`invalid_offer`, `live_failed`), the HTTP status the API should answer
    # with, and words for the caller.
    error: str
    status: int
    detail: str


class CloseRequest(_Message):
    session_id: str
    reply_to: str


class CloseAck(_Message):
    session_id: str
    closed: bool


_REPLY: TypeAdapter[Answer | OfferFailure] = TypeAdapter(Answer | OfferFailure)


def parse_reply(raw: bytes | str) -> Answer | OfferFailure:
    return _REPLY.validate_json(raw)


@dataclass(frozen=True)
class SessionRecord:
    """What the holder keeps of a session in its hash (every field a string in Redis)."""

    session_id: str
    owner_id: str
    camera_uuid: str
    camera_id: str
    process_id: str
    # ISO 8601 UTC.
    created_at: str
    connection_state: str = "new"
    ice_connection_state: str = "new"
    ice_gathering_state: str = "new"
    signaling_state: str = "stable"
    frames_sent: int = 0
    # The API key it was opened with; None for a bearer token.
    api_key_id: str | None = None

    def to_fields(self) -> dict[str, str]:
        fields = {name: str(value) for name, value in asdict(self).items() if value is not None}
        del fields["session_id"]
        return fields

    @classmethod
    def from_fields(
        cls, session_id: str, fields: Mapping[bytes, bytes] | Mapping[str, str]
    ) -> SessionRecord | None:
        """The record of a session's hash; None for an empty (missing) or damaged one."""
        text = {
            (k.decode() if isinstance(k, bytes) else k): (
                v.decode(errors="replace") if isinstance(v, bytes) else v
            )
            for k, v in fields.items()
        }
        try:
            return cls(
                session_id=session_id,
                owner_id=text["owner_id"],
                camera_uuid=text["camera_uuid"],
                camera_id=text["camera_id"],
                process_id=text["process_id"],
                created_at=text["created_at"],
                connection_state=text.get("connection_state", "new"),
                ice_connection_state=text.get("ice_connection_state", "new"),
                ice_gathering_state=text.get("ice_gathering_state", "new"),
                signaling_state=text.get("signaling_state", "stable"),
                frames_sent=int(text.get("frames_sent", "0")),
                api_key_id=text.get("api_key_id") or None,
            )
        except (KeyError, ValueError):
            return None


# Reserve a place for a new session. KEYS: SESSIONS_KEY, the user's set. ARGV: now, the
# reservation's expiry, the session id, the per-user cap, the global cap, INDEX_TTL_S.
# Answers {0, expiry} when reserved, {1, earliest expiry of the user's} over the per-user cap,
# {2, earliest expiry of all} over the global cap (scores as strings: Lua numbers would be
# truncated to integers).
RESERVE_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {1, redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then
  return {2, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {0, ARGV[2]}
"""
RESERVED, OVER_USER_CAP, OVER_GLOBAL_CAP = 0, 1, 2

# Create a session's record, its index entries and its viewer member, only while its place is
# reserved and it has no record yet. KEYS: the session's hash, SESSIONS_KEY, the user's set,
# the camera's viewer set. ARGV: the session id, its index score, SESSION_TTL_S, INDEX_TTL_S,
# now, its viewer score, the viewer set's TTL, then the record's field/value pairs. Answers 1
# when created, 0 when not (the API gave up on the offer, or another process holds it).
REGISTER_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[7])
return 1
"""

# Refresh a session's record and push its index entries ahead, only while the record exists.
# KEYS: the session's hash, SESSIONS_KEY, the user's set. ARGV: the session id, its index
# score, SESSION_TTL_S, INDEX_TTL_S, then the record's field/value pairs. Answers 1, or 0 when
# the record is gone (the session was closed without its holder: the holder closes the peer).
REFRESH_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""

# Renew a session's member of its camera's viewer set, only while its record exists. KEYS: the
# session's hash, the viewer set. ARGV: the session id, its viewer score, the set's TTL.
# Answers 1, or 0 when the record is gone.
VIEWER_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
