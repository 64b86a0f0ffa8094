"""`python -m bench.chaos`: start a Redis, a Postgres cluster, a tmpfs storage directory and a
webhook receiver of its own, a stack (API, worker, beat, webhook sender) on them, then run the
fault scenarios one after another and print the table (also written as markdown)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.chaos.infra import PostgresCluster, RedisServer, Tmpfs, WebhookReceiver
from bench.chaos.run import MEDIA_DIR, Harness, Result, stack_env, table
from shared.ops.localstack import REPO_ROOT, LocalStack, free_port

SCENARIOS = ("redis", "postgres", "worker", "webhook", "storage-full", "storage-ro")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run these scenarios (repeatable)"
    )
    parser.add_argument(
        "--outage-s", type=float, default=10.0, help="how long Redis, Postgres, storage stay down"
    )
    parser.add_argument(
        "--receiver-down-s", type=float, default=60.0, help="how long the webhook receiver is down"
    )
    parser.add_argument(
        "--kill-jobs", type=int, default=10, help="jobs in flight when the worker dies"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO_ROOT / "var" / "chaos.md", help="markdown table"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    return parser.parse_args(argv)


def write(results: list[Result], args: argparse.Namespace, started: float) -> None:
    text = table(results)
    print("\n" + text + "\n", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    minutes = (time.monotonic() - started) / 60
    args.output.write_text(
        f"{text}\n\nMeasured by `make chaos` (outages of {args.outage_s:g}s, webhook receiver down "
        f"{args.receiver_down_s:g}s) in {minutes:.0f} min.\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = args.only or list(SCENARIOS)
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="vigil-chaos-"))
    print(f"run directory (logs): {base}", flush=True)
    cleanups: list[Callable[[], None]] = []
    results: list[Result] = []
    try:
        redis = RedisServer(free_port(), base / "redis.log")
        redis.start()
        cleanups.append(redis.stop)
        postgres = PostgresCluster(base, free_port())
        postgres.init()
        cleanups.append(postgres.stop)
        storage: Tmpfs | None = None
        tmpfs = Tmpfs(base / "storage", size_mb=64)
        try:
            tmpfs.mount()
            cleanups.append(tmpfs.unmount)
            storage = tmpfs
        except subprocess.CalledProcessError as exc:
            print(f"cannot mount a tmpfs ({exc.stderr!r}): storage scenarios skipped", flush=True)
        receiver = WebhookReceiver(free_port())
        receiver.up()
        cleanups.append(receiver.down)

        env = stack_env(
            redis.url(), postgres.url, base / "storage", REPO_ROOT.parent / "shared" / "models"
        )
        os.environ.update(env)
        from shared.ops.migrate import migrate

        asyncio.run(migrate(postgres.url))
        stack = LocalStack(env, base / "logs")
        cleanups.append(stack.stop)
        stack.start_worker()
        stack.start_webhook_worker()
        stack.start_beat()
        stack.start_api()
        stack.wait_ready(timeout_s=180)

        harness = Harness(
            stack=stack,
            database_url=postgres.url,
            redis=redis,
            receiver=receiver,
            postgres=postgres,
            storage=storage,
            upload_image=MEDIA_DIR / "images" / "car_plate_SN66XMZ.jpg",
        )
        cleanups.append(harness.stop_probes)
        harness.sign_up()
        results.append(harness.baseline())
        write(results, args, started)
        runs: dict[str, Callable[[], Result]] = {
            "redis": lambda: harness.redis_restart(args.outage_s),
            "postgres": lambda: harness.postgres_restart(args.outage_s),
            "worker": lambda: harness.worker_killed(args.kill_jobs),
            "webhook": lambda: harness.receiver_down(args.receiver_down_s),
            "storage-full": lambda: harness.storage_full(args.outage_s),
            "storage-ro": lambda: harness.storage_read_only(args.outage_s),
        }
        for name in chosen:
            if name.startswith("storage") and storage is None:
                results.append(Result(name, notes=["not measurable here: no tmpfs mount"]))
                continue
            print(f"==> {name}", flush=True)
            results.append(runs[name]())
            write(results, args, started)
    finally:
        for cleanup in reversed(cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"table written to {args.output}")
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
