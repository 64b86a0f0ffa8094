"""The camera runner: one asyncio process (`python -m worker.cameras`) that claims active cameras
from Postgres, runs each (a capture process, a pipeline in the shared analysis thread) and
publishes what they see.

Leases (shared/repositories/camera_leases.py): the runner claims about every second, with
jitter, while it holds fewer cameras than its capacity, first waiting in proportion to its load
so that the least loaded runner usually wins; it renews all its cameras in one statement every
VIGIL_CAMERA_RENEW_INTERVAL_S, writing their figures at the same time. A camera missing from a
renewal's answer (deleted, deactivated, changed by the API, its owner deactivated, taken over)
stops at once. A nudge on CAMERAS_CHANGED_CHANNEL makes it renew and claim at once, so API
changes take effect within a second or two. A camera whose lease was not renewed for
VIGIL_CAMERA_LEASE_S - 1 s stops by itself (self-fencing): by then another runner may hold it.

A claimed camera is held (and renewed) from its claim on, `starting`, while a task of its own
opens it (its address resolved, its owner's watchlist read, its capture spawned, within
OPEN_TIMEOUT_S), so that a slow camera neither loses its lease nor holds up the next claims;
whatever goes wrong opening it puts it in `error`. Each claim round also sweeps: a camera whose
lease ran out SWEEP_AFTER_S ago while it still says it runs (its runner died, and no runner had
room to take it) goes back to `pending`, with its status event and, if it was up,
camera.offline.

Threads: the analysis thread (worker/cameras/analysis.py), the live frames thread for watched
cameras (live_frames.py), the event publisher (publisher.py) and the snapshot writer
(snapshots.py); Postgres and the nudges stay on the event loop, and blocking calls (process
starts and stops, Redis, the metrics, written by a task of their own so that a slow Redis never
delays a renewal) go to worker threads. If a thread dies, the health file is touched no more and
the runner stops as on SIGTERM, with exit status 1, for its supervisor to start it again.

SIGTERM or SIGINT: the cameras say `pending`, their captures stop, the events buffered are
published (a few seconds at most), the leases are released for other runners to claim at once,
and the runner's row is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import UUID

import redis
import redis.asyncio as aioredis
from tortoise import Tortoise

from shared.cameras.events import CAMERAS_CHANGED_CHANNEL, STATUS
from shared.cameras.source import redact
from shared.db.config import tortoise_config
from shared.db.enums import CameraState
from shared.metrics import CameraGauges, MetricsStore, RunnerReport
from shared.repositories import camera_leases as leases
from shared.repositories.camera_leases import ClaimedCamera, LossReason, RunnerInfo, SweptCamera
from shared.settings import Settings
from worker.cameras.analysis import Analyser, PlateRecord, warm_up
from worker.cameras.camera import LiveCamera
from worker.cameras.events import (
    BusEvent,
    CameraRef,
    EventTally,
    model_info,
    new_event,
    status_body,
)
from worker.cameras.live_frames import LiveFrames
from worker.cameras.opening import open_camera
from worker.cameras.publisher import BusStats, EventBuffer, Publisher
from worker.cameras.records import record_change, record_plate, record_status
from worker.cameras.redaction import RedactingFilter
from worker.cameras.snapshots import SnapshotWriter
from worker.cameras.status import StatusChange, abandoned_webhook

logger = logging.getLogger(__name__)

CLAIM_INTERVAL_S = 1.0
CLAIM_JITTER = 0.2
# A runner waits this long times its load ratio before each claim.
CLAIM_DELAY_AT_FULL_LOAD_S = 0.5
SUPERVISE_INTERVAL_S = 0.1
# A lease is treated as lost this long before it runs out (clock rates, statement latency).
FENCE_MARGIN_S = 1.0
# Runner rows silent this long belong to runners that died without deleting them.
RUNNER_FORGOTTEN_AFTER_S = 600.0
DRAIN_ON_STOP_S = 3.0
RETRY_S = 1.0
REDIS_TIMEOUT_S = 2.0
# Opening a camera is a name lookup and one query: far longer means one of them hangs.
OPEN_TIMEOUT_S = 30.0
# A lease run out this long ago is a dead runner's (a live one renews it well before), and
# runners with room have had time to claim the camera.
SWEEP_AFTER_S = 3.0
THREADS_CHECK_S = 1.0


def new_runner_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Runner:
    def __init__(
        self,
        settings: Settings,
        *,
        capacity: int,
        log_filter: RedactingFilter,
        health_file: Path | None = None,
    ) -> None:
        self.settings = settings
        self.info = RunnerInfo(
            id=new_runner_id(),
            hostname=socket.gethostname(),
            pid=os.getpid(),
            capacity=capacity,
            version=version("vigil"),
        )
        self.log_filter = log_filter
        self.health_file = health_file
        # The event loop adds and removes cameras; the threads read copies (`held()`).
        self.cameras: dict[UUID, LiveCamera] = {}
        self._cameras_lock = threading.Lock()
        self.stats = BusStats()
        self.buffer = EventBuffer(settings.events_buffer_max, self.stats)
        self.publisher = Publisher(
            self.buffer,
            redis.Redis.from_url(
                settings.events_redis,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            ),
            stream=settings.events_stream,
            maxlen=settings.events_maxlen,
            data_field=settings.events_data_field,
            gate=self.may_publish,
            broken=self._unpublishable,
        )
        vigil_redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        self.snapshots = SnapshotWriter(vigil_redis)
        self.metrics = MetricsStore(vigil_redis)
        self.analyser = Analyser(
            self.held,
            emit=self.buffer.put,
            record=self._record_plate,
            snapshots=self.snapshots,
            model_info=model_info(settings.model_name),
            max_detect_fps=settings.camera_max_detect_fps,
            may_show=self._may_show,
        )
        self.live_frames = LiveFrames(self.held, snapshots=self.snapshots, may_show=self._may_show)
        # What `python -m worker.cameras` exits with: 1 once a thread has died.
        self.exit_status = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._claim_now = asyncio.Event()
        # A nudge asks for a renewal, then a claim: in that order, so that a camera the API
        # changed is stopped before its new generation is claimed.
        self._nudged = False
        self._pending: set[asyncio.Task[None]] = set()
        # Cameras being opened: cancelled when the runner stops.
        self._starts: set[asyncio.Task[None]] = set()

    # --- what the threads ask -------------------------------------------------------------------

    def held(self) -> list[LiveCamera]:
        with self._cameras_lock:
            return [camera for camera in self.cameras.values() if camera.held]

    def _lease_fresh(self, camera: LiveCamera, now: float) -> bool:
        return now < camera.leased_at + self.settings.camera_lease_s - FENCE_MARGIN_S

    def may_publish(self, event: BusEvent) -> bool:
        """The publisher's gate: the camera is still held under the event's generation, on a
        lease that has not run out; or the event is a camera's farewell."""
        if event.farewell:
            return True
        camera = self.cameras.get(event.ref.camera_uuid)
        return (
            camera is not None
            and camera.holds(event.ref.generation)
            and self._lease_fresh(camera, time.monotonic())
        )

    def _may_show(self, camera: LiveCamera) -> bool:
        """The gate of the analysis and live frames threads for frames, as the publisher's for
        events."""
        return camera.held and self._lease_fresh(camera, time.monotonic())

    def _unpublishable(self, event: BusEvent, reason: str) -> None:
        """From the publisher: the camera's events keep failing to publish; the supervisor
        turns this into `error`."""
        camera = self.cameras.get(event.ref.camera_uuid)
        if camera is not None and camera.holds(event.ref.generation):
            camera.failure = redact(reason)

    def _record_plate(self, record: PlateRecord) -> None:
        """From the analysis thread: the Postgres record goes on the event loop."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._spawn, record_plate(record))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- the process ----------------------------------------------------------------------------

    async def run(self) -> int:
        """`python -m worker.cameras`: until SIGTERM or SIGINT, or a thread's death; the exit
        status."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        # Statements are bounded by the lease: one hung longer has lost the race anyway, and
        # the loops must get to try again. The global fallback: tasks started from the threads
        # (Postgres records) run in a context of their own and must see the ORM too.
        config = tortoise_config(command_timeout_s=self.settings.camera_lease_s)
        await Tortoise.init(config=config, _enable_global_fallback=True)
        try:
            # Models load before the runner registers and claims: a camera's first frame
            # does not wait for them, and a registered runner is one ready to take cameras.
            await asyncio.to_thread(warm_up, self.settings)
            await self.serve()
        finally:
            await Tortoise.close_connections()
        return self.exit_status

    def stop(self) -> None:
        """Stop as on SIGTERM (from the event loop's thread)."""
        self._stopping.set()

    async def serve(self) -> None:
        """Register, hold cameras until stopped, then shut down; the ORM is set up already."""
        self._loop = asyncio.get_running_loop()
        await leases.prune_runners(RUNNER_FORGOTTEN_AFTER_S)
        await leases.heartbeat(self.info, 0)
        logger.info("camera runner %s up (capacity %d cameras)", self.info.id, self.info.capacity)
        self.publisher.start()
        self.snapshots.start()
        self.analyser.start()
        self.live_frames.start()
        loops = [
            asyncio.create_task(self._supervise(), name="supervise"),
            asyncio.create_task(self._renew_loop(), name="renew"),
            asyncio.create_task(self._claim_loop(), name="claim"),
            asyncio.create_task(self._listen(), name="nudges"),
            asyncio.create_task(self._metrics_loop(), name="metrics"),
            asyncio.create_task(self._watch_threads(), name="threads"),
        ]
        await self._stopping.wait()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await self._shut_down()

    async def _shut_down(self) -> None:
        logger.info("camera runner %s stopping", self.info.id)
        # A capture that finishes starting after this is stopped by start_feed itself, since
        # stop_feed below has marked its camera stopped.
        for task in self._starts:
            task.cancel()
        await asyncio.gather(*self._starts, return_exceptions=True)
        await asyncio.to_thread(self.analyser.stop)
        await asyncio.to_thread(self.live_frames.stop)
        cameras = self.held()
        now = time.time()
        for camera in cameras:
            if self._lease_fresh(camera, time.monotonic()):
                change = StatusChange(
                    CameraState.PENDING, camera.status.state, "its runner is stopping", now
                )
                self._announce(camera, change)
        await asyncio.gather(*(asyncio.to_thread(camera.stop_feed) for camera in cameras))
        await asyncio.to_thread(self.publisher.stop, DRAIN_ON_STOP_S)
        for camera in cameras:
            camera.held = False
        try:
            await leases.release(
                self.info.id, [(c.claimed.id, c.claimed.generation) for c in cameras]
            )
            await leases.delete_runner(self.info.id)
        except Exception:
            logger.exception("could not release the cameras; their leases will run out")
        if self._pending:
            await asyncio.wait(self._pending, timeout=DRAIN_ON_STOP_S)
        await asyncio.to_thread(self.snapshots.stop)
        await asyncio.to_thread(
            self.metrics.forget_cameras, [str(c.claimed.id) for c in cameras], self.info.id
        )

    # --- cameras --------------------------------------------------------------------------------

    def _announce(
        self, camera: LiveCamera, change: StatusChange, *, farewell: bool = False
    ) -> None:
        """A state change: a `status` event, its Postgres record (and webhook), and an early
        renewal so that the state column follows at once."""
        if change.state is CameraState.ONLINE and change.previous is not CameraState.DEGRADED:
            camera.online_since = time.monotonic()
        elif change.state is not CameraState.DEGRADED:
            camera.online_since = None
        body = status_body(change.state.value, change.previous.value, change.reason, self.info.id)
        event = new_event(camera.ref, STATUS, change.at, body, camera.tally, farewell=farewell)
        self.buffer.put(event)
        self._spawn(record_status(camera, change, event))
        self._renew_now.set()

    def _begin(self, claimed: ClaimedCamera, leased_at: float) -> None:
        """Hold the claimed camera at once, `starting` (renewals keep its lease while it
        opens), and open it in a task of its own."""
        earlier = self.cameras.get(claimed.id)
        if earlier is not None:
            # Changed and claimed again before a renewal noticed: the old generation's farewell
            # goes first (its capture is stopped before the new one opens the source).
            self._drop(earlier, LossReason.RECONFIGURED)
        camera = LiveCamera.claimed_now(claimed)
        camera.leased_at = leased_at
        with self._cameras_lock:
            self.cameras[claimed.id] = camera
        self._announce(
            camera,
            StatusChange(CameraState.STARTING, claimed.previous_state, "claimed", time.time()),
        )
        logger.info(
            "camera %s (%s) claimed, generation %d",
            claimed.camera_id, claimed.id, claimed.generation,
        )  # fmt: skip
        task = asyncio.get_running_loop().create_task(self._open(camera, earlier))
        self._starts.add(task)
        task.add_done_callback(self._starts.discard)

    async def _open(self, camera: LiveCamera, earlier: LiveCamera | None) -> None:
        claimed = camera.claimed
        try:
            if earlier is not None:
                await self._stop(earlier)
            problem = await self._start_capture(camera)
        except Exception as exc:
            logger.exception("could not open camera %s", claimed.camera_id)
            problem = redact(f"could not open the camera: {str(exc) or type(exc).__name__}")
        if not camera.held:  # let go meanwhile: nothing more to say of it
            return
        if problem is not None:
            logger.warning("camera %s cannot run: %s", claimed.camera_id, problem)
            self._fail(camera, problem, time.time())
            return
        self.snapshots.watch(claimed.id)
        self.analyser.wake()

    async def _start_capture(self, camera: LiveCamera) -> str | None:
        """Open the camera and start its capture; why it cannot run, or None."""
        opened = await asyncio.wait_for(
            open_camera(camera.claimed, self.settings, self.log_filter), OPEN_TIMEOUT_S
        )
        camera.adopt(opened)
        if opened.feed is None:
            return camera.error
        try:
            await asyncio.to_thread(camera.start_feed, opened.feed)
        except Exception as exc:
            logger.exception("could not start the capture of camera %s", camera.claimed.camera_id)
            return f"could not start the capture: {type(exc).__name__}"
        return None

    def _fail(self, camera: LiveCamera, reason: str, at: float) -> None:
        """The camera cannot run as configured: `error`, its lease kept (so that no runner
        loops on it) until the API changes it."""
        camera.error = reason
        change = camera.status.failed(reason, at)
        if change is not None:
            self._announce(camera, change)
        if camera.feed is not None:
            self._spawn(asyncio.to_thread(camera.stop_feed))

    async def _let_go(self, camera: LiveCamera, farewell: LossReason | None) -> None:
        """Stop a camera now. With a farewell (deleted, deactivated, reconfigured) its last
        `stopped` status is published; without (taken over, lease run out) nothing more is."""
        self._drop(camera, farewell)
        await self._stop(camera)
        logger.info(
            "camera %s (%s) stopped: %s",
            camera.claimed.camera_id, camera.claimed.id, farewell or "lease lost",
        )  # fmt: skip

    def _drop(self, camera: LiveCamera, farewell: LossReason | None) -> None:
        """What letting a camera go does at once: nothing more of it is analysed, published
        or recorded, but its farewell."""
        camera.held = False
        with self._cameras_lock:
            if self.cameras.get(camera.claimed.id) is camera:
                del self.cameras[camera.claimed.id]
        self.analyser.wake()
        self.snapshots.forget(camera.claimed.id)
        if farewell is not None:
            change = StatusChange(
                CameraState.STOPPED, camera.status.state, farewell.value, time.time()
            )
            self._announce(camera, change, farewell=True)

    async def _stop(self, camera: LiveCamera) -> None:
        await asyncio.to_thread(camera.stop_feed)
        await asyncio.to_thread(self.metrics.forget_cameras, [str(camera.claimed.id)])

    # --- the loops ------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Capture transitions, analysis failures and rates, and self-fencing, ten times a
        second."""
        while True:
            await asyncio.sleep(SUPERVISE_INTERVAL_S)
            cap = self.settings.camera_max_detect_fps
            for camera in self.held():
                try:
                    await self._supervise_one(camera, cap)
                except Exception:
                    logger.exception("supervising camera %s failed", camera.claimed.camera_id)

    async def _supervise_one(self, camera: LiveCamera, cap: float) -> None:
        now = time.time()
        if not self._lease_fresh(camera, time.monotonic()):
            logger.warning(
                "the lease of camera %s was not renewed in time; stopping it",
                camera.claimed.camera_id,
            )
            await self._let_go(camera, None)
            return
        if camera.failure is not None and camera.error is None:
            self._fail(camera, camera.failure, now)
            return
        if camera.status.state is CameraState.ERROR:
            return  # its capture is being stopped: nothing it does changes that
        for transition in camera.poll():
            change = camera.status.capture_changed(
                transition.state, transition.reason, transition.at
            )
            if change is not None:
                self._announce(camera, change)
        if camera.runs:
            fps = camera.analysed.rate(time.monotonic())
            change = camera.status.analysis_rate(fps, camera.target_fps(cap), now)
            if change is not None:
                self._announce(camera, change)

    async def _renew_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._renew_now.wait(), timeout=self.settings.camera_renew_interval_s
                )
            self._renew_now.clear()
            nudged, self._nudged = self._nudged, False
            try:
                await self._renew()
                if nudged:
                    self._claim_now.set()
            except Exception:
                logger.warning("could not renew the camera leases", exc_info=True)
                await asyncio.sleep(RETRY_S)

    async def _renew(self) -> None:
        cap = self.settings.camera_max_detect_fps
        cameras = self.held()
        reports = [camera.report(cap) for camera in cameras]
        sent_at = time.monotonic()
        renewed = await leases.renew(self.info.id, self.settings.camera_lease_s, reports)
        lost = []
        for camera in cameras:
            if camera.claimed.id in renewed:
                camera.leased_at = sent_at
            elif camera.held:
                lost.append(camera)
        for camera in lost:
            camera.held = False  # at once: nothing more of it is published from here on
        if lost:
            await self._lost(lost)
            self._claim_now.set()
        await leases.heartbeat(self.info, len(self.held()))
        # A runner whose thread died is not healthy, however well it renews.
        if self.health_file is not None and not self._dead_threads():
            self.health_file.touch()

    async def _lost(self, lost: list[LiveCamera]) -> None:
        """Stop the cameras a renewal no longer matched, each with its farewell when the table
        tells why; those whose owner was deactivated say `stopped` in the table too."""
        try:
            reasons = await leases.why_lost(self.info.id, [c.claimed.id for c in lost])
        except Exception:
            # Stopped all the same (without farewells): they are no longer this runner's.
            logger.warning("could not tell why cameras were lost", exc_info=True)
            reasons = {}
        now = time.monotonic()
        for camera in lost:
            reason = reasons.get(camera.claimed.id)
            # Past its lease (a runner frozen a while) the camera may be another's to speak
            # for, or swept already: no farewell then.
            speaks = reason not in (None, LossReason.TAKEN_OVER) and self._lease_fresh(camera, now)
            await self._let_go(camera, reason if speaks else None)
        owner_gone = [
            (c.claimed.id, c.claimed.generation)
            for c in lost
            if reasons.get(c.claimed.id) is LossReason.OWNER_DEACTIVATED
        ]
        await leases.release(self.info.id, owner_gone, CameraState.STOPPED)

    async def _metrics_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.camera_renew_interval_s)
            try:
                await asyncio.to_thread(self._write_metrics, self.held())
            except Exception:
                logger.warning("could not write the camera metrics", exc_info=True)

    def _write_metrics(self, cameras: list[LiveCamera]) -> None:
        now = time.monotonic()
        figures = self.stats.take()
        reconnects: Counter[str] = Counter()
        stalls: Counter[str] = Counter()
        for camera in cameras:
            reconnects[str(camera.claimed.id)], stalls[str(camera.claimed.id)] = camera.trouble()
        self.metrics.record_runner(
            RunnerReport(
                runner_id=self.info.id,
                capacity=self.info.capacity,
                cameras=[
                    CameraGauges(
                        str(camera.claimed.id), camera.source_fps(), camera.analysed.rate(now)
                    )
                    for camera in cameras
                ],
                reconnects=+reconnects,
                stalls=+stalls,
                published=figures.published,
                dropped=figures.dropped,
                fenced=figures.fenced,
                latency_buckets=figures.latency,
                latency_sum_s=figures.latency_sum_s,
            )
        )

    def _dead_threads(self) -> list[str]:
        threads = (self.analyser, self.live_frames, self.publisher, self.snapshots)
        return [thread.name for thread in threads if not thread.is_alive()]

    async def _watch_threads(self) -> None:
        while True:
            await asyncio.sleep(THREADS_CHECK_S)
            dead = self._dead_threads()
            if dead:
                logger.error(
                    "the %s thread died; stopping the runner (exit status 1) so that it is "
                    "restarted",
                    ", ".join(dead),
                )
                self.exit_status = 1
                self.stop()
                return

    async def _claim_loop(self) -> None:
        while True:
            jitter = random.uniform(1 - CLAIM_JITTER, 1 + CLAIM_JITTER)  # noqa: S311 (not a secret)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._claim_now.wait(), timeout=CLAIM_INTERVAL_S * jitter)
            self._claim_now.clear()
            try:
                await self._sweep()
                await self._claim_while_room()
            except Exception:
                logger.warning("could not claim cameras", exc_info=True)
                await asyncio.sleep(RETRY_S)

    async def _sweep(self) -> None:
        for swept in await leases.sweep(SWEEP_AFTER_S):
            self._announce_abandoned(swept)

    def _announce_abandoned(self, swept: SweptCamera) -> None:
        """A dead runner's camera, now `pending`: its status event (a farewell: the camera is
        not this runner's, and this is its generation's last word) and record, and
        camera.offline if it was up."""
        change = StatusChange(
            CameraState.PENDING,
            swept.previous_state,
            "its runner stopped renewing its lease",
            time.time(),
        )
        ref = CameraRef(swept.id, swept.camera_id, swept.owner_id, swept.generation)
        body = status_body(change.state.value, change.previous.value, change.reason, self.info.id)
        event = new_event(ref, STATUS, change.at, body, EventTally(), farewell=True)
        self.buffer.put(event)
        webhook = abandoned_webhook(change.previous)
        self._spawn(record_change(swept.name, change, event, webhook))
        logger.warning(
            "camera %s (%s) was %s on a runner that stopped renewing it: pending again",
            swept.camera_id, swept.id, swept.previous_state,
        )  # fmt: skip

    async def _claim_while_room(self) -> None:
        capacity = self.info.capacity
        while len(self.held()) < capacity:
            # The busier runner waits longer, so the least loaded one usually claims first.
            await asyncio.sleep(len(self.held()) / capacity * CLAIM_DELAY_AT_FULL_LOAD_S)
            leased_at = time.monotonic()
            claimed = await leases.claim(self.info.id, self.settings.camera_lease_s)
            if claimed is None:
                return
            self._begin(claimed, leased_at)

    async def _listen(self) -> None:
        """Nudges from the API: renew (dropping what changed), then claim."""
        client = aioredis.Redis.from_url(
            self.settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        try:
            while True:
                try:
                    async with client.pubsub() as pubsub:
                        await pubsub.subscribe(CAMERAS_CHANGED_CHANNEL)
                        while True:
                            message = await pubsub.get_message(
                                ignore_subscribe_messages=True, timeout=1.0
                            )
                            if message is not None:
                                self._nudged = True
                                self._renew_now.set()
                except (redis.RedisError, OSError) as exc:
                    logger.warning(
                        "camera change notices unavailable (%s); relying on renewals",
                        type(exc).__name__,
                    )
                    await asyncio.sleep(RETRY_S)
        finally:
            await client.aclose()
