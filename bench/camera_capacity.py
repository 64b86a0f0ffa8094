"""`make bench`'s camera row: the capacity scenario of `make bench-cameras` alone, on a stack of
its own with one camera runner (the RTSP test camera's /cam, a fresh database, its own Redis
db). Its baseline, the bare ultralytics loop on the same clip, runs in process before any stack
(`bench.video.run_baseline` on CAMERA_CLIP)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock

from bench import camera_goals as goals_
from bench.camera_goals import Bench, Goal
from bench.camera_stack import RUNNERS, camera_stack
from bench.camera_stream import EventLog
from bench.cameras import events_stream
from bench.image_endpoint import log_tails

# Importing test fixtures: the benchmark drives the same real RTSP server the tests do, and
# the clip its /cam mount serves (640x352 at 30 fps) is the one the bare loop reads.
from tests.fixtures.rtsp_camera import RtspCamera
from tests.media import CARS_MP4

# Flushed first: none of the other benchmarks' or the tests' databases.
REDIS_DB = 11
WINDOW_S = 30.0
CAMERA_CLIP = CARS_MP4


def bench_capacity(window_s: float = WINDOW_S) -> Goal:
    """The capacity goal, measured; a scenario that breaks raises, with the stack's logs on
    stderr."""
    goal = goals_.table()["capacity"]
    # camera_stack puts its settings into this process's environment (its migration reads
    # them there); the sections after this one must not inherit them.
    with (
        tempfile.TemporaryDirectory(prefix="vigil-bench-capacity-") as tmp,
        mock.patch.dict(os.environ),
    ):
        run_dir = Path(tmp)
        try:
            with contextlib.ExitStack() as running:
                source = running.enter_context(
                    RtspCamera(mounts=("cam",), log_path=run_dir / "rtsp.log")
                )
                cameras = running.enter_context(
                    camera_stack(run_dir, REDIS_DB, runners=RUNNERS[:1])
                )
                events = EventLog(cameras.redis_url, events_stream())
                events.start()
                running.callback(events.stop)
                goals_.capacity(Bench(cameras, events, source), goal, window_s)
        except Exception:
            print(log_tails(run_dir / "logs"), file=sys.stderr)
            raise
    return goal
