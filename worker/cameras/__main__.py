"""`python -m worker.cameras [--capacity N] [--health-file PATH]`: a camera runner.

Not a Celery worker: a camera never ends, and as a Celery task it would be delivered again after
the broker's visibility timeout and hold a pool slot for ever; a runner holds its cameras by
leases in Postgres instead (worker/cameras/runner.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from shared.configured import check_camera_runner_settings
from shared.logging import configure_logging
from shared.settings import get_settings
from worker.cameras import redaction
from worker.cameras.runner import Runner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m worker.cameras", description=__doc__)
    parser.add_argument(
        "--capacity",
        type=int,
        help="cameras this runner analyses at most (default: VIGIL_RUNNER_MAX_CAMERAS)",
    )
    parser.add_argument(
        "--health-file",
        type=Path,
        help="touched after every successful lease renewal while the runner's threads are "
        "alive, for a container health check",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.capacity is not None and args.capacity < 1:
        print("--capacity must be at least 1", file=sys.stderr)
        return 2
    try:
        configure_logging()
        settings = get_settings()
        check_camera_runner_settings(settings)
    except ValueError as exc:  # pydantic's ValidationError is one
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    log_filter = redaction.RedactingFilter()
    redaction.install(log_filter)
    runner = Runner(
        settings,
        capacity=args.capacity or settings.runner_max_cameras,
        log_filter=log_filter,
        health_file=args.health_file,
    )
    return asyncio.run(runner.run())


if __name__ == "__main__":
    sys.exit(main())
