"""The live view service (`python -m live`): takes offers the API queues in Redis, answers each
with an aiortc peer that sends one camera's annotated frames, and keeps every session it holds
registered in Redis until it ends (shared/live/protocol.py has the keys and messages).

One asyncio loop runs it all: the offer queue (BRPOP), the process's close list (closes asked
for by any API process), one frame reader per watched camera, and an upkeep tick that renews the
process's heartbeat, its sessions' records and their places in the cameras' viewer sets. A
session whose record has vanished (closed by the API while this process could not be told) is
closed here, never brought back. Each session has a supervisor that closes it when its
connection fails (a peer that stops answering fails within about 10 s: live/signaling.py), never
connects, or reaches VIGIL_WEBRTC_MAX_SESSION_S. SIGTERM closes every peer and removes every
record before the process exits; a loop that dies of an unexpected error stops the process
(exit status 1) rather than leave it half working behind a live heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiortc import RTCPeerConnection
from pydantic import BaseModel, ValidationError

from live import signaling
from live.feeds import FeedHub
from live.sessions import Session
from live.track import CameraTrack
from shared.cameras.events import viewers_key
from shared.live.protocol import (
    HEARTBEAT_S,
    INDEX_TTL_S,
    OFFERS_KEY,
    PROCESS_TTL_S,
    PROCESSES_KEY,
    REFRESH_SCRIPT,
    REGISTER_SCRIPT,
    REPLY_TTL_S,
    SESSION_REFRESH_S,
    SESSION_TTL_S,
    SESSIONS_KEY,
    VIEWER_RENEW_S,
    VIEWER_SCRIPT,
    VIEWER_TTL_S,
    Answer,
    CloseAck,
    CloseRequest,
    OfferFailure,
    OfferRequest,
    control_key,
    session_key,
    user_sessions_key,
)
from shared.metrics import MetricsStore
from shared.settings import Settings

logger = logging.getLogger("vigil.live")

# How long each blocking read (offers, close requests) waits before looking at the clock again.
POLL_S = 1.0
TICK_S = 0.5
RETRY_S = 1.0
# Why a session is closed when its record vanished from Redis.
VANISHED = "its record vanished (closed by the API)"


class LiveService:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        metrics: MetricsStore,
        health_file: Path | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.metrics = metrics
        self.health_file = health_file
        self.process_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.sessions: dict[str, Session] = {}
        # Offers taken and not answered yet, by session id: a copy of one is dropped.
        self.opening: set[str] = set()
        self.feeds = FeedHub(redis)
        self.stopping = asyncio.Event()
        # Offers being answered (cancelled at shutdown) and closes under way (waited for).
        self._offers: set[asyncio.Task[None]] = set()
        self._closes: set[asyncio.Task[None]] = set()
        # Frames sent by sessions already closed, and the total last reported to the metrics.
        self._frames_of_closed = 0
        self._frames_reported = 0
        self._register = redis.register_script(REGISTER_SCRIPT)
        self._refresh = redis.register_script(REFRESH_SCRIPT)
        self._renew_viewer = redis.register_script(VIEWER_SCRIPT)

    async def run(self) -> int:
        """Serve until `stopping` is set (0) or one of the loops dies (1); either way, close
        every session and leave nothing in Redis. The exit status is returned."""
        await self._heartbeat()
        loops = [
            asyncio.create_task(self._take_offers(), name="offers"),
            asyncio.create_task(self._take_closes(), name="closes"),
            asyncio.create_task(self._upkeep(), name="upkeep"),
        ]
        logger.info(
            "live view service %s up (ICE servers: %d)",
            self.process_id,
            len(self.settings.webrtc_ice_servers),
        )
        stop = asyncio.create_task(self.stopping.wait(), name="stop")
        done, _ = await asyncio.wait([*loops, stop], return_when=asyncio.FIRST_COMPLETED)
        died = [
            loop
            for loop in loops
            if loop in done and (stop not in done or loop.exception() is not None)
        ]
        for loop in died:
            # The loops handle Redis trouble themselves and only return once stopping is set:
            # this is a bug.
            error = loop.exception()
            logger.error(
                "the %s loop stopped (%r); stopping the live view service",
                loop.get_name(),
                error,
                exc_info=error,
            )
        # The loops stop at their next turn too: redis-py sometimes swallows the cancellation of
        # a blocking read that has just timed out, and the loop would read on.
        self.stopping.set()
        for task in (*loops, stop):
            task.cancel()
        await asyncio.gather(*loops, stop, return_exceptions=True)
        await self._shutdown()
        return 1 if died else 0

    # offers

    async def _take_offers(self) -> None:
        while not self.stopping.is_set():
            try:
                popped = await self.redis.brpop([OFFERS_KEY], timeout=POLL_S)
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("cannot read offers (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
                continue
            if popped is None:
                continue
            try:
                request = OfferRequest.model_validate_json(popped[1])
            except ValidationError:
                logger.warning("dropped a malformed offer request")
                continue
            if request.deadline < time.time():
                logger.warning("session %s: offer dropped, nobody waits for it", request.session_id)
                continue
            if request.session_id in self.sessions or request.session_id in self.opening:
                # The API's Redis client pushes an offer again when the connection dropped
                # after its first push: one peer per session.
                logger.info("session %s: dropped a copy of its offer", request.session_id)
                continue
            self.opening.add(request.session_id)
            self._spawn(self._open(request), self._offers)

    async def _open(self, request: OfferRequest) -> None:
        feed = self.feeds.acquire(request.camera_uuid)
        session: Session | None = None
        held = False
        try:
            title = request.camera_name or request.camera_id
            track = CameraTrack(feed, request.live_fps, title, request.last_frame_at)
            pc = RTCPeerConnection(signaling.configuration(self.settings, self.process_id))
            session = Session(
                request, self.process_id, pc, track, feed, self.settings.webrtc_max_session_s
            )
            held = await self._answer(session)
        finally:
            self.opening.discard(request.session_id)
            # Whatever went wrong (cancelled too), a peer that is not a session goes.
            if session is None:
                await self.feeds.release(feed)
            elif not held:
                await self._discard(session)

    async def _answer(self, session: Session) -> bool:
        """Answer the session's offer; True once the session is registered and this process
        holds it (close() ends it from then on), False when the caller must discard it."""
        request = session.request
        try:
            sdp = await signaling.answer(session.pc, session.track, request.sdp)
        except signaling.InvalidOfferError as exc:
            failure = OfferFailure(
                session_id=session.id,
                error="invalid_offer",
                status=422,
                detail=f"the offer cannot be used: {exc}",
            )
            await self._reply(request.reply_to, failure)
            return False
        except Exception:
            logger.exception("session %s: cannot answer the offer", session.id)
            failure = OfferFailure(
                session_id=session.id,
                error="live_failed",
                status=503,
                detail="the live view service could not answer the offer; try again",
            )
            await self._reply(request.reply_to, failure)
            return False
        if time.time() > request.deadline:
            logger.warning("session %s: answer ready too late, nobody waits for it", session.id)
            return False
        session.answered = time.monotonic()
        try:
            registered = await self._create_record(session)
        except (aioredis.RedisError, OSError) as exc:
            logger.warning("session %s: cannot register it (%s)", session.id, exc)
            return False
        if not registered:
            logger.warning(
                "session %s: its place is gone (the API gave up on it, or another live process "
                "answered it); dropped",
                session.id,
            )
            return False
        self.sessions[session.id] = session
        session.watch_states()
        try:
            await self._reply(request.reply_to, Answer(session_id=session.id, sdp=sdp))
        except (aioredis.RedisError, OSError) as exc:
            logger.warning("session %s: cannot answer it (%s)", session.id, exc)
            await self.close(session, "could not be answered")
            return True
        session.supervisor = asyncio.create_task(self._supervise(session))
        logger.info(
            "session %s opened: camera %s of user %s at %g fps, answer in %.0f ms",
            session.id,
            request.camera_uuid,
            request.owner_id,
            request.live_fps,
            (session.answered - session.opened) * 1000,
        )
        return True

    async def _discard(self, session: Session) -> None:
        """A peer that never became a session: nothing of it is in Redis."""
        try:
            session.track.stop()
            await session.pc.close()
        finally:
            await self.feeds.release(session.feed)

    async def _reply(self, reply_to: str, message: BaseModel) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(reply_to, message.model_dump_json())
            pipe.expire(reply_to, REPLY_TTL_S)
            await pipe.execute()

    async def _create_record(self, session: Session) -> bool:
        """Register the session (REGISTER_SCRIPT); False when its place is no longer reserved
        or another process registered it."""
        now = time.time()
        request = session.request
        keys = [
            session_key(session.id),
            SESSIONS_KEY,
            user_sessions_key(request.owner_id),
            viewers_key(request.camera_uuid),
        ]
        args: list[Any] = [
            session.id,
            now + SESSION_TTL_S,
            int(SESSION_TTL_S),
            INDEX_TTL_S,
            now,
            now + VIEWER_TTL_S,
            int(VIEWER_TTL_S) * 2,
            *_pairs(session.record().to_fields()),
        ]
        created: Any = await self._register(keys=keys, args=args)
        return bool(created)

    async def _queue_refresh(self, pipe: Any, session: Session, now: float) -> None:
        """Queue REFRESH_SCRIPT for the session on `pipe`: its answer is 0 when the record is
        gone."""
        keys = [session_key(session.id), SESSIONS_KEY, user_sessions_key(session.request.owner_id)]
        args: list[Any] = [
            session.id,
            now + SESSION_TTL_S,
            int(SESSION_TTL_S),
            INDEX_TTL_S,
            *_pairs(session.record().to_fields()),
        ]
        await self._refresh(keys=keys, args=args, client=pipe)

    # the end of a session

    async def _supervise(self, session: Session) -> None:
        await self.close(session, await self._until_over(session))

    async def _until_over(self, session: Session) -> str:
        """Why the session must end, once it must."""
        connected_logged = False
        while (reason := session.reason_to_close(time.monotonic())) is None:
            if session.connected_at is not None and not connected_logged:
                connected_logged = True
                logger.info("session %s connected: %s", session.id, session.timings())
            session.changed.clear()
            try:
                await asyncio.wait_for(session.changed.wait(), TICK_S * 2)
            except TimeoutError:
                continue
            # A state changed: GET /sessions/{id} shows it now rather than at the next refresh.
            try:
                if await self._refresh_records([session]):
                    return VANISHED
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("session %s: cannot update its record (%s)", session.id, exc)
        return reason

    async def close(self, session: Session, reason: str) -> None:
        """Close the peer and remove every key of the session; a second call waits for the
        first to finish."""
        if session.closing:
            await session.closed.wait()
            return
        session.closing = True
        self.sessions.pop(session.id, None)
        if session.supervisor is not None and session.supervisor is not asyncio.current_task():
            session.supervisor.cancel()
        try:
            session.track.stop()
            try:
                await session.pc.close()
            finally:
                await self.feeds.release(session.feed)
                self._frames_of_closed += session.track.frames_sent
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.delete(session_key(session.id))
                    pipe.zrem(SESSIONS_KEY, session.id)
                    pipe.zrem(user_sessions_key(session.request.owner_id), session.id)
                    pipe.zrem(viewers_key(session.request.camera_uuid), session.id)
                    await pipe.execute()
            except (aioredis.RedisError, OSError) as exc:
                logger.warning(
                    "session %s: cannot remove its keys (%s); they lapse", session.id, exc
                )
        finally:
            session.closed.set()
        logger.info(
            "session %s closed (%s) after %.1f s: %d frames sent (%d placeholders); %s",
            session.id,
            reason,
            time.monotonic() - session.opened,
            session.track.frames_sent,
            session.track.placeholders_sent,
            session.timings(),
        )

    async def _take_closes(self) -> None:
        key = control_key(self.process_id)
        while not self.stopping.is_set():
            try:
                popped = await self.redis.brpop([key], timeout=POLL_S)
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("cannot read close requests (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
                continue
            if popped is None:
                continue
            try:
                request = CloseRequest.model_validate_json(popped[1])
            except ValidationError:
                logger.warning("dropped a malformed close request")
                continue
            self._spawn(self._close_requested(request), self._closes)

    async def _close_requested(self, request: CloseRequest) -> None:
        session = self.sessions.get(request.session_id)
        if session is not None:
            await self.close(session, "closed by request")
        await self._reply(
            request.reply_to, CloseAck(session_id=request.session_id, closed=session is not None)
        )

    # upkeep

    async def _upkeep(self) -> None:
        due = {"heartbeat": 0.0, "viewers": 0.0, "records": 0.0}
        while not self.stopping.is_set():
            now = time.monotonic()
            try:
                if now >= due["heartbeat"]:
                    due["heartbeat"] = now + HEARTBEAT_S
                    await self._heartbeat()
                if now >= due["viewers"]:
                    due["viewers"] = now + VIEWER_RENEW_S
                    await self._renew_viewers()
                if now >= due["records"]:
                    due["records"] = now + SESSION_REFRESH_S
                    await self._refresh_records(list(self.sessions.values()))
                    await self._report_metrics()
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("cannot renew the live view's keys (%s); retrying", exc)
            await asyncio.sleep(TICK_S)

    async def _heartbeat(self) -> None:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(PROCESSES_KEY, "-inf", now)
            pipe.zadd(PROCESSES_KEY, {self.process_id: now + PROCESS_TTL_S})
            await pipe.execute()
        if self.health_file is not None:
            self.health_file.touch()

    async def _renew_viewers(self) -> None:
        """Renew every session's viewer member, and close the sessions whose record vanished."""
        sessions = list(self.sessions.values())
        if not sessions:
            return
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for session in sessions:
                keys = [session_key(session.id), viewers_key(session.request.camera_uuid)]
                args: list[Any] = [session.id, now + VIEWER_TTL_S, int(VIEWER_TTL_S) * 2]
                await self._renew_viewer(keys=keys, args=args, client=pipe)
            renewed = await pipe.execute()
        self._close_vanished(
            [session for session, kept in zip(sessions, renewed, strict=True) if not kept]
        )

    async def _refresh_records(self, sessions: list[Session]) -> list[Session]:
        """Refresh the sessions' records where they still exist; close the others, and return
        them."""
        if not sessions:
            return []
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for session in sessions:
                await self._queue_refresh(pipe, session, now)
            refreshed = await pipe.execute()
        vanished = [session for session, kept in zip(sessions, refreshed, strict=True) if not kept]
        self._close_vanished(vanished)
        return vanished

    def _close_vanished(self, sessions: list[Session]) -> None:
        # From a supervisor, close() leaves the supervisor itself running: it ends on its own.
        current = asyncio.current_task()
        for session in sessions:
            if session.supervisor is current:
                continue
            self._spawn(self.close(session, VANISHED), self._closes)

    async def _report_metrics(self) -> None:
        total = self._frames_of_closed + sum(s.track.frames_sent for s in self.sessions.values())
        sent, self._frames_reported = total - self._frames_reported, total
        await asyncio.to_thread(self.metrics.record_live, self.process_id, len(self.sessions), sent)

    # stopping

    def _spawn(self, work: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            # Redis gone mid-answer, mostly: the API answers 503 when no reply comes.
            logger.warning("an offer or a close was dropped: %r", error)

    async def _shutdown(self) -> None:
        # The heartbeat first: the API then refuses offers at once instead of queueing them
        # for a process that will never answer.
        try:
            await self.redis.zrem(PROCESSES_KEY, self.process_id)
        except (aioredis.RedisError, OSError) as exc:
            logger.warning("cannot remove the heartbeat (%s); it lapses", exc)
        # Offers half answered next: a peer they finish would outlive the shutdown.
        for task in list(self._offers):
            task.cancel()
        await asyncio.gather(*self._offers, *self._closes, return_exceptions=True)
        sessions = list(self.sessions.values())
        await asyncio.gather(*(self.close(s, "service stopping") for s in sessions))
        await self.feeds.close()
        await asyncio.to_thread(self.metrics.forget_live, self.process_id)
        logger.info(
            "live view service %s stopped (%d sessions closed)", self.process_id, len(sessions)
        )


def _pairs(fields: dict[str, str]) -> list[str]:
    """A hash's fields as the flat field, value, … list a script's HSET takes."""
    return [item for pair in fields.items() for item in pair]
