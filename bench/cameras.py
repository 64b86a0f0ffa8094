"""`python -m bench.cameras` (`make bench-cameras`): the live-camera goals on a stack of its own.

It starts two RTSP test cameras (one open with /cam and /stamped, one asking for credentials),
a fresh database, its own Redis db, an API and two camera runners; signs a user up; then drives
cameras through the public API and reads their events from the Redis Stream as a consumer
would, and prints each goal with its figure and PASS or MISS. Figures only, no asserts: the
machine is shared, and the load printed beside them says how far to trust them."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import camera_goals as goals_
from bench.camera_goals import Bench, Goal
from bench.camera_leaks import LeakScan
from bench.camera_report import header_lines, measure, table_lines, write_json
from bench.camera_stack import DEFAULT_MODEL, camera_stack
from bench.camera_stream import EventLog
from bench.common import positive, show
from shared.ops.localstack import REPO_ROOT

# Importing a test fixture: the benchmark drives the same real RTSP server the tests do.
from tests.fixtures.rtsp_camera import RtspCamera

SCENARIOS = ("start", "latency", "source", "capacity")
CAMERA_USER = "bench-viewer"
# The discard port: nothing listens, and nothing in this stack sends webhooks anyway.
DISCARD_HOOK = "http://127.0.0.1:9/hook"


def events_stream() -> str:
    """The stream the runners publish on: the environment's, as theirs is."""
    return os.environ.get("VIGIL_EVENTS_STREAM", "stream:events")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cameras", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run these scenarios (repeatable); `source` is stall, recovery, failover and the "
        "credential check",
    )
    parser.add_argument(
        "--latency-s", type=positive, default=30.0, help="latency window (default 30)"
    )
    parser.add_argument(
        "--capacity-s", type=positive, default=30.0, help="capacity window (default 30)"
    )
    parser.add_argument(
        "--redis-db", type=int, default=10, help="the benchmark's own Redis db, flushed (10)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=REPO_ROOT / "var" / "bench-cameras.json",
        help="also write the figures here",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    return parser.parse_args(argv)


def run(
    bench: Bench,
    goals: dict[str, Goal],
    args: argparse.Namespace,
    guarded: RtspCamera,
    leaks: LeakScan,
) -> None:
    chosen = args.only or SCENARIOS
    if "start" in chosen:
        measure([goals["start"]], lambda: goals_.start(bench, goals["start"]))
    if "latency" in chosen:
        measure([goals["latency"]], lambda: goals_.latency(bench, goals["latency"], args.latency_s))
    if "source" in chosen:
        source_goals(bench, goals, guarded, leaks)
    if "capacity" in chosen:
        measure(
            [goals["capacity"]], lambda: goals_.capacity(bench, goals["capacity"], args.capacity_s)
        )
    measure([goals["stop"]], lambda: goals_.stop(bench, goals["stop"]))
    if "source" in chosen:
        measure([goals["leaks"]], lambda: leak_goal(bench, goals["leaks"], leaks))


def source_goals(
    bench: Bench, goals: dict[str, Goal], guarded: RtspCamera, leaks: LeakScan
) -> None:
    """Stall, recovery and failover on a camera with credentials, beside one whose password is
    wrong: both go through the paths where a password could leak (auth failure, stall, kill)."""
    api = bench.cameras.api
    made: list[dict[str, Any]] = []
    stall, recovery, failover = goals["stall"], goals["recovery"], goals["failover"]

    def stall_and_recovery() -> None:
        made.append(bench.register("credentials", guarded.url("/cam")))
        wrong = guarded.url("/cam", credentials=(CAMERA_USER, leaks.secrets[1]))
        made.append(bench.register("wrong-password", wrong))
        # camera.online/offline deliveries get written (nothing sends them): one more table
        # to search.
        api.client.post(
            "/api/v1/webhooks",
            json={"url": DISCARD_HOOK, "event_types": ["camera.online", "camera.offline"]},
        ).raise_for_status()
        goals_.stall_and_recovery(bench, guarded, made[0], stall, recovery)

    def while_they_exist() -> None:
        # Their rows and answers carry their states and errors now; deleted, they would not.
        leaks.database(bench.cameras.database_url)
        leaks.api(api, [camera["camera_id"] for camera in made])
        error = api.camera(made[1]["camera_id"])["runtime"]["last_error"]
        goals["leaks"].notes.append(f"the wrong-password camera's last_error: {error!r}")
        bench.delete(*made)

    measure([stall, recovery], stall_and_recovery)
    if len(made) < 2:
        failover.measured, failover.passed = "no camera to fail over (see the stall)", False
        bench.delete(*made)
        return
    measure([failover], lambda: goals_.failover(bench, made[0], failover))
    measure([goals["leaks"]], while_they_exist)


def leak_goal(bench: Bench, goal: Goal, leaks: LeakScan) -> None:
    leaks.logs(bench.cameras.stack.log_dir)
    leaks.database(bench.cameras.database_url)
    leaks.redis(bench.cameras.redis_url)
    leaks.api(bench.cameras.api, [])
    places = len(leaks.searched)
    megabytes = sum(leaks.searched.values()) / 1e6
    goal.passed = not leaks.found
    goal.measured = (
        f"{len(leaks.found)} ({places} places, {megabytes:.1f} MB searched: process logs, "
        "tables, Redis keys with the stream, API answers, /metrics)"
    )
    goal.figures = {"found_in": sorted(leaks.found), "searched_bytes": leaks.searched}
    if leaks.found:
        goal.notes.append(f"the password is in: {', '.join(sorted(leaks.found))}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    model = os.environ.get("VIGIL_MODEL_NAME", DEFAULT_MODEL)
    show(header_lines(model, load_at_start))
    goals = goals_.table()
    run_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-cameras-"))
    show([f"run directory (logs): {run_dir}"])
    # Distinctive, so that any occurrence anywhere is a leak; the second is a wrong password.
    leaks = LeakScan([f"Vq{secrets.token_hex(8)}Zx", f"Vq{secrets.token_hex(8)}Wn"])
    completed = False
    try:
        with contextlib.ExitStack() as running:
            source = running.enter_context(
                RtspCamera(mounts=("cam", "stamped"), log_path=run_dir / "rtsp-open.log")
            )
            guarded = running.enter_context(
                RtspCamera(
                    user=CAMERA_USER,
                    password=leaks.secrets[0],
                    mounts=("cam",),
                    log_path=run_dir / "rtsp-guarded.log",
                )
            )
            cameras = running.enter_context(camera_stack(run_dir, args.redis_db))
            stream = events_stream()
            events = EventLog(cameras.redis_url, stream)
            events.start()
            running.callback(events.stop)
            show([f"stack up after {time.monotonic() - started:.0f} s; events on {stream}"])
            run(Bench(cameras, events, source), goals, args, guarded, leaks)
        completed = True
    finally:
        minutes = (time.monotonic() - started) / 60
        show(table_lines(goals, minutes, os.getloadavg()[0]))
        write_json(
            args.json,
            goals,
            {"model": model, "load_at_start": round(load_at_start, 2), "minutes": minutes},
        )
        show([f"figures written to {args.json}"])
        missed = any(goal.passed is False for goal in goals.values())
        # A stack that failed to start, or a goal missed: the logs say why.
        if args.keep or missed or not completed:
            show([f"logs kept in {run_dir}"])
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
