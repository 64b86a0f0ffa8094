"""A watched camera's live frames against the real stack and the stamped RTSP test camera: while
its viewer set holds a member, the stack's runner writes the newest frame at the camera's
`live_fps` (the stamp rows at the top left still readable under the overlay), scaled to
`live_max_height`; once the member is gone, one frame about every 2 s again.

Two cameras on the same stream, registered and watched at once: one at the source's size (its
stamps read back), one scaled down. Rates are measured over a few seconds and asserted with
room to spare (the machine is shared); `pytest -s` prints them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import cv2
import httpx
import numpy as np
import pytest
import redis

from shared.cameras.events import frame_key, viewers_key
from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.fixtures.stamp import MASK, read_stamp, stamp_age_ms
from tests.integration.camera_runners import camera_row, registered_cameras, stack_runner_ready

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera

LIVE_FPS = 10
# The scaled camera's: its frames are only looked at for their size.
SCALED_LIVE_FPS = 5
SCALED_HEIGHT = 240
MEASURE_S = 3.0
# From registration to the first live frames: the runner claims the camera, opens the stream
# and analyses a first frame.
FIRST_FRAMES_S = 30.0
# The runner checks its viewer sets every 0.5 s; a frame drawn before it noticed may follow.
NOTICED_WITHIN_S = 1.0
# Unwatched, frames come about every 2 s (UNWATCHED_INTERVAL_S): two of them, this far apart.
UNWATCHED_GAP_S = (1.0, 4.0)
# A line across the road, below the stamp rows (the default test line starts at the top edge,
# where its name would be written over the stamp).
KERB = {"name": "kerb", "start": [0.0, 0.8], "end": [1.0, 0.8]}


@dataclass(frozen=True)
class Received:
    at: float
    frame_number: int
    captured_at: float
    width: int
    height: int
    jpeg: bytes

    @classmethod
    def of(cls, fields: dict[bytes, bytes]) -> Received:
        captured = datetime.fromisoformat(fields[b"captured_at"].decode().replace("Z", "+00:00"))
        return cls(
            time.monotonic(),
            int(fields[b"frame_number"]),
            captured.timestamp(),
            int(fields[b"width"]),
            int(fields[b"height"]),
            fields[b"jpeg"],
        )

    def image(self) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, "not a JPEG"
        return image


class FrameReader:
    """The camera's frame stream read as the live process reads it: XREAD BLOCK from the last
    entry seen."""

    def __init__(self, camera_uuid: str) -> None:
        self.client = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
        self.camera_uuid = camera_uuid
        self.key = frame_key(camera_uuid)
        self.last_id = "$"

    def read(self, seconds: float) -> list[Received]:
        """Every frame written during the next `seconds`."""
        received = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            answer: Any = self.client.xread(
                {self.key: self.last_id}, block=max(1, int(left * 1000)), count=1
            )
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    received.append(Received.of(fields))
        return received

    def wait(self, check: Callable[[list[Received]], bool], what: str, timeout_s: float) -> None:
        """Read until the frames of the last second pass `check`."""
        deadline = time.monotonic() + timeout_s
        recent: list[Received] = []
        while time.monotonic() < deadline:
            recent = [r for r in recent if r.at > time.monotonic() - 1.0] + self.read(0.25)
            if check(recent):
                return
        raise AssertionError(f"no {what} within {timeout_s}s")

    def next(self, count: int, timeout_s: float) -> list[Received]:
        """The next `count` frames written, all within `timeout_s`."""
        received: list[Received] = []
        deadline = time.monotonic() + timeout_s
        while len(received) < count and time.monotonic() < deadline:
            received += self.read(min(0.25, deadline - time.monotonic()))
        assert len(received) >= count, f"{len(received)} frames within {timeout_s}s"
        return received[:count]

    def watched(self, seconds: float) -> list[Received]:
        """Every frame of `seconds` of watching (a viewer to the camera), from the first live
        ones on."""
        self.client.zadd(viewers_key(self.camera_uuid), {"live-test": time.time() + 60})
        self.wait(lambda recent: len(recent) >= 3, "live frames", FIRST_FRAMES_S)
        return self.read(seconds)

    def unwatch(self) -> None:
        self.client.delete(viewers_key(self.camera_uuid))


@pytest.fixture
def cameras(client: httpx.Client, auth: dict[str, str]) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, auth) as register:
        yield register


def test_a_watched_camera_gets_live_frames_at_its_live_fps(
    stack: LocalStack,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    stack_runner_ready(stack)
    started = time.monotonic()
    full = cameras(rtsp_camera.url("/stamped"), live_fps=LIVE_FPS, lines=[KERB])
    small = cameras(
        rtsp_camera.url("/stamped"),
        live_fps=SCALED_LIVE_FPS,
        live_max_height=SCALED_HEIGHT,
        detectors=["motion"],
    )
    reader, small_reader = FrameReader(full["camera_uuid"]), FrameReader(small["camera_uuid"])
    try:
        with ThreadPoolExecutor(2) as pool:
            watching = pool.submit(reader.watched, MEASURE_S)
            small_watching = pool.submit(small_reader.watched, 1.0)
            watched, scaled = watching.result(), small_watching.result()
        small_reader.unwatch()
        reader.unwatch()
        unwatched_from = time.monotonic()
        print(f"\nregistered to watched for {MEASURE_S:g} s: {unwatched_from - started:.1f} s")

        live_rate = len({f.frame_number for f in watched}) / MEASURE_S
        runtime = camera_row(full["camera_uuid"])["runtime"]
        print(
            f"watched: {live_rate:.1f} distinct frames/s (live_fps {LIVE_FPS}); analysed "
            f"{runtime['fps_analysed']} frames/s (target {runtime['fps_target']})"
        )
        assert live_rate >= 0.8 * LIVE_FPS, [f.frame_number for f in watched]
        numbers = [f.frame_number for f in watched]
        assert numbers == sorted(set(numbers))
        captured = [f.captured_at for f in watched]
        assert all(later > earlier for earlier, later in pairwise(captured))
        # The source is 640x352, below the default live_max_height (720): never enlarged.
        assert {(f.width, f.height) for f in watched} == {(640, 352)}
        # The stamp rows survive the overlay: the stamp is the capture's, a moment before the
        # runner read the frame.
        ages = []
        for frame in watched:
            image = frame.image()
            assert image.shape == (frame.height, frame.width, 3)
            stamp = read_stamp(image)
            if stamp is not None:
                ages.append(stamp_age_ms(stamp, round(frame.captured_at * 1000) & MASK))
        assert len(ages) >= 0.9 * len(watched), f"stamps read on {len(ages)}/{len(watched)}"
        print(
            f"stamps read: {len(ages)}/{len(watched)}; stamp → capture {min(ages)}-{max(ages)} ms"
        )
        assert all(-50 <= age < 2000 for age in ages), ages

        # A live_max_height below the source's: the frames are scaled down to it, aspect kept.
        assert scaled, "the scaled camera wrote no live frame"
        assert {(f.width, f.height) for f in scaled} == {(436, SCALED_HEIGHT)}
        assert scaled[-1].image().shape == (SCALED_HEIGHT, 436, 3)

        # Unwatched: about one frame every 2 s again, once the runner has noticed.
        time.sleep(max(0.0, unwatched_from + NOTICED_WITHIN_S - time.monotonic()))
        reader.last_id = "$"
        first, second = reader.next(2, 2 * UNWATCHED_GAP_S[1])
        gap = second.at - first.at
        print(f"unwatched: frames {gap:.2f} s apart; in all {time.monotonic() - started:.1f} s")
        assert UNWATCHED_GAP_S[0] <= gap <= UNWATCHED_GAP_S[1], gap
    finally:
        for one in (reader, small_reader):
            one.unwatch()
            one.client.close()
