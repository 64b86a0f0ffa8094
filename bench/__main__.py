"""`python -m bench` (`make bench`): every speed and memory goal, each with its baseline and ours
measured in the same run, their ratio, the target and PASS or FAIL, then a table of them all.

In process first, before any stack competes for the cores: a bare ultralytics loop on the
default video, the model's pure inference, Vigil's default job and full suite, the motion gate
on a mostly still clip, the bare loop on the cameras' clip, and the image's in-process latencies.
Then one real stack: the default video job through the API, the image endpoint and the status
polls. Then a camera runner's capacity, on a stack of its own. Last, the analysis worker's memory
and ready time, from workers started alone."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.api_status import RATE_LIMITS, bench_status, status_lines
from bench.api_video import bench_api_video
from bench.camera_capacity import CAMERA_CLIP, bench_capacity
from bench.camera_goals import CAPACITY_CAMERAS
from bench.common import load_bare_model, quiet_ultralytics, show
from bench.gated import bench_gate
from bench.image_endpoint import (
    REDIS_URL,
    ApiStack,
    api_stack,
    bench_in_process,
    endpoint_latency,
    log_tails,
    redis_neighbours,
)
from bench.inference import prepare
from bench.report import (
    Results,
    Row,
    api_video_lines,
    camera_bare_lines,
    camera_lines,
    camera_rows,
    gate_lines,
    gate_rows,
    header_lines,
    image_endpoint_lines,
    image_in_process_lines,
    image_rows,
    row_lines,
    section_lines,
    status_rows,
    table_lines,
    video_lines,
    video_rows,
    worker_rows,
    write_json,
)
from bench.video import DEFAULT_VIDEO, bench_video, blank_frame, run_baseline
from bench.worker_goals import bench_worker, worker_lines
from shared.settings import available_cores
from worker.services.warmup import warm_up

SECTIONS = ("video", "gate", "image", "status", "cameras", "worker")
# The sections with a part in process, and those with a part on the shared stack.
IN_PROCESS = {"video", "gate", "image", "cameras"}
ON_STACK = {"video", "image", "status"}
MAX_ERROR = 160


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run these sections only (repeatable): video (bare loop, pure inference, Vigil in "
        "process and through the API), gate, image, status, cameras, worker",
    )
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to decode")
    parser.add_argument(
        "--repeat", type=positive_int, default=1, help="full passes per side (default 1)"
    )
    parser.add_argument("--max-frames", type=positive_int, help="stop each pass after N frames")
    parser.add_argument(
        "--requests", type=positive_int, default=20, help="timed image requests (default 20)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    return parser.parse_args(argv)


def attempt(results: Results, name: str, section: Callable[[], None]) -> None:
    """Run a section; one that fails leaves its error for its rows to show, and the run goes
    on to the next."""
    try:
        section()
    except Exception as exc:  # a broken section is a finding; the others still measure
        traceback.print_exc()
        # The traceback above has it all; a table cell gets the gist.
        gist = str(exc).splitlines()[0] if str(exc) else ""
        results.errors[name] = f"{type(exc).__name__}: {gist[:MAX_ERROR]}"


def video_section(args: argparse.Namespace, results: Results, model: Any) -> None:
    pure = prepare(args.video, args.max_frames)
    results.video = bench_video(model, args.video, args.repeat, args.max_frames, pure)
    show(video_lines(results.video))


def gate_section(args: argparse.Namespace, results: Results, model: Any) -> None:
    results.gate = bench_gate(model, args.repeat, args.max_frames)
    show(gate_lines(results.gate))
    show(row_lines(gate_rows(results)))


def camera_clip_section(args: argparse.Namespace, results: Results, model: Any) -> None:
    results.camera_bare = run_baseline(model, CAMERA_CLIP, args.max_frames)
    show(camera_bare_lines(results.camera_bare))


def image_section(args: argparse.Namespace, results: Results, model: Any) -> None:
    results.image = bench_in_process(model, args.requests)
    show(image_in_process_lines(results.image))


# In process, in this order: (name, the --only section it belongs to, title, section).
InProcessSection = Callable[[argparse.Namespace, Results, Any], None]
IN_PROCESS_SECTIONS: tuple[tuple[str, str, str, InProcessSection], ...] = (
    ("video", "video", "default video in process: bare loop, pure inference, Vigil", video_section),
    ("gate", "gate", "motion gate on a mostly still clip", gate_section),
    ("camera_clip", "cameras", "the cameras' clip, bare loop", camera_clip_section),
    ("image", "image", "image, in process", image_section),
)


def in_process(args: argparse.Namespace, chosen: set[str], results: Results) -> None:
    show(section_lines(results, "models", "loading the models (untimed)"))
    # Loaded once, as a worker's are when it starts: the bare YOLO compiled by a predict on the
    # default video's frame size, and every detector of ours built and run once.
    model = load_bare_model(blank_frame(args.video))
    warm_up()
    for name, belongs_to, title, section in IN_PROCESS_SECTIONS:
        if belongs_to in chosen:
            show(section_lines(results, name, title))
            attempt(results, name, functools.partial(section, args, results, model))


def on_stack(args: argparse.Namespace, chosen: set[str], results: Results) -> None:
    """The sections that talk to a real stack, on the same one: it takes a while to start."""

    def api_video(stack: ApiStack) -> None:
        results.api_video = bench_api_video(stack.client, args.video, args.repeat, args.max_frames)
        show(api_video_lines(results.api_video))

    def endpoint(stack: ApiStack) -> None:
        if results.image is None:
            raise RuntimeError("no in-process image figures to compare the endpoint with")
        endpoint_latency(stack.client, results.image)
        show(image_endpoint_lines(results.image))

    def status(stack: ApiStack) -> None:
        results.status = bench_status(stack.stack, stack.client)
        show(status_lines(results.status))

    def on(stack: ApiStack, name: str, section: Callable[[ApiStack], None]) -> None:
        def logged() -> None:
            try:
                section(stack)
            except Exception:
                # Why a job failed or a request errored is in the stack's logs, which go with it.
                print(log_tails(stack.stack.log_dir), file=sys.stderr)
                raise

        attempt(results, name, logged)

    def sections() -> None:
        # One API process per core, as `make run` and the image serve it: what the status
        # polls' goal is about, and what the other sections' clients would meet.
        with api_stack(RATE_LIMITS, available_cores()) as stack:
            if "video" in chosen:
                show(section_lines(results, "api_video", "the default video job through the API"))
                on(stack, "api_video", api_video)
                show(row_lines(video_rows(results)))
            if "image" in chosen:
                show(section_lines(results, "endpoint", "POST /process/image"))
                on(stack, "endpoint", endpoint)
                show(row_lines(image_rows(results)))
            if "status" in chosen:
                show(section_lines(results, "status", "status polls under load"))
                on(stack, "status", status)
                show(row_lines(status_rows(results)))

    show(section_lines(results, "stack", "starting a stack: API, worker, webhooks, cameras, live"))
    neighbours = redis_neighbours()
    if neighbours:
        show(
            [
                f"  WARNING: {neighbours} other connection(s) to {REDIS_URL}: another stack there"
                " shares the queues and may take this one's jobs"
            ]
        )
    attempt(results, "stack", sections)


def camera_section(results: Results) -> None:
    results.cameras = bench_capacity()
    show(camera_lines(results.cameras))
    show(row_lines(camera_rows(results)))


def worker_section(results: Results) -> None:
    results.worker = bench_worker()
    show(worker_lines(results.worker))


def rows(chosen: set[str], results: Results) -> list[Row]:
    """Every chosen goal's rows, in the order of the goals (not of the sections)."""
    builders: dict[str, Callable[[Results], list[Row]]] = {
        "video": video_rows,
        "gate": gate_rows,
        "image": image_rows,
        "status": status_rows,
        "worker": worker_rows,
        "cameras": camera_rows,
    }
    return [row for name, build in builders.items() if name in chosen for row in build(results)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = set(args.only or SECTIONS)
    started = time.monotonic()
    quiet_ultralytics()
    show(header_lines())
    results = Results()
    if chosen & IN_PROCESS:
        in_process(args, chosen, results)
    if chosen & ON_STACK:
        on_stack(args, chosen, results)
    if "cameras" in chosen:
        title = f"camera capacity: {CAPACITY_CAMERAS} cameras on one runner (a stack of its own)"
        show(section_lines(results, "cameras", title))
        attempt(results, "cameras", functools.partial(camera_section, results))
    if "worker" in chosen:
        show(section_lines(results, "worker", "analysis worker: memory and ready time"))
        attempt(results, "worker", functools.partial(worker_section, results))
    table = rows(chosen, results)
    minutes = (time.monotonic() - started) / 60
    show(table_lines(table))
    show([f"\nmeasured in {minutes:.1f} min; load {os.getloadavg()[0]:.2f} at the end"])
    if args.json is not None:
        write_json(args.json, results, table)
    return 1 if any(row.passed is False for row in table) else 0


if __name__ == "__main__":
    sys.exit(main())
