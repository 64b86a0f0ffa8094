"""The fault scenarios: each submits real video jobs to a running stack, breaks one dependency
in the middle of them, brings it back, and checks what came of every job, every webhook and
every API answer meanwhile."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from celery import Celery

from bench.chaos.infra import (
    Outcome,
    PostgresCluster,
    Prober,
    RedisServer,
    Tmpfs,
    WebhookReceiver,
)
from shared.ops.localstack import LocalStack

MEDIA_DIR = Path(__file__).resolve().parents[3] / "shared" / "media"
VIDEO = MEDIA_DIR / "video" / "traffic_sample0.mp4"  # 220 frames of 640x360
SHORT_VIDEO = MEDIA_DIR / "video" / "traffic_sample1.mp4"  # 45 frames of 640x360
PASSWORD = "correct-horse-battery"
# The goal: the API answers again this soon after a dependency is back.
RECOVERY_GOAL_S = 10.0
COMPLETED = "job.completed"


def stack_env(
    redis_url: str, database_url: str, storage_dir: Path, model_dir: Path
) -> dict[str, str]:
    """Settings for a stack under fault: short sweeps so lost work is found within seconds,
    and a webhook retry schedule that outlasts a receiver down for a minute or more."""
    return {
        "VIGIL_ENV": "test",
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_SECRET_KEY": "chaos-secret-key-long-enough-for-hs256",
        "VIGIL_FLOWER_PASSWORD": "chaos-flower-password",
        "VIGIL_STORAGE_DIR": str(storage_dir),
        "VIGIL_MODEL_DIR": str(model_dir),
        "VIGIL_WARMUP_DETECTORS": '["objects"]',
        "VIGIL_ACCESS_TOKEN_TTL_S": "7200",
        "VIGIL_IMAGE_WAIT_S": "0",
        "VIGIL_PROGRESS_INTERVAL_S": "0.5",
        "VIGIL_SWEEP_INTERVAL_S": "1",
        "VIGIL_REQUEUE_AFTER_S": "5",
        "VIGIL_STALE_AFTER_S": "8",
        "VIGIL_JOB_MAX_ATTEMPTS": "5",
        "VIGIL_LOG_LEVEL": "INFO",
        # The receiver listens on loopback, which the SSRF guard refuses unless allowed.
        "VIGIL_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8:1024-65535"]',
        "VIGIL_WEBHOOK_TIMEOUT_S": "2",
        # Retries 0.5-1 s, 2-4 s, 8-16 s, then 15-30 s apart: eight attempts span 70 s or more.
        "VIGIL_WEBHOOK_BACKOFF_BASE_S": "1",
        "VIGIL_WEBHOOK_BACKOFF_MAX_S": "30",
        "VIGIL_WEBHOOK_MAX_ATTEMPTS": "8",
        "VIGIL_RATE_LIMIT_ENABLED": "false",
        "VIGIL_SIGNUP": "open",
    }


def db_fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def worker_answers(redis_url: str) -> bool:
    """Whether an analysis worker answers a control ping (the API's health check does the same)."""
    app = Celery("chaos-probe", broker=redis_url)
    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:  # the broker itself may still be unreachable: not an answer either
        return False
    finally:
        app.close()


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds it took `check` to pass; TimeoutError after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not within {timeout_s:g}s")


@dataclass
class Result:
    """One row of the table."""

    scenario: str
    accepted: int = 0
    completed: int = 0
    failed: int = 0
    duplicates: int = 0
    lost: int = 0
    answers: Counter[Outcome] = field(default_factory=Counter)
    recovery_s: float | None = None
    # Jobs the fault interrupted while they ran, and how many runs were needed beyond one.
    interrupted: int = 0
    reruns: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.accepted > 0
            and self.completed == self.accepted
            and self.duplicates == 0
            and self.lost == 0
            and not any(self.answers[bad] for bad in (500, "timeout", "error"))
            and self.recovery_s is not None
            and self.recovery_s <= RECOVERY_GOAL_S
        )

    def answers_text(self) -> str:
        main: tuple[Outcome, ...] = (503, 500, "timeout")
        others = sorted((str(k), n) for k, n in self.answers.items() if k not in main)
        return " / ".join(str(self.answers[key]) for key in main) + "".join(
            f", {n} {k}" for k, n in others
        )

    def cells(self) -> list[str]:
        recovery = "never" if self.recovery_s is None else f"{self.recovery_s:.1f}"
        return [
            self.scenario,
            str(self.accepted),
            str(self.completed) + (f" ({self.failed} failed)" if self.failed else ""),
            str(self.duplicates),
            str(self.lost),
            self.answers_text(),
            recovery,
            "pass" if self.passed else "FAIL",
        ]


HEADERS = [
    "scenario", "jobs accepted", "completed", "duplicates", "deliveries lost",
    "API answers during outage (503 / 500 / timeouts, others)", "recovery (s)", "verdict",
]  # fmt: skip


def table(results: list[Result]) -> str:
    """The results as a markdown table, with the notes under it."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(result.cells()) + " |" for result in results]
    notes = [f"- {r.scenario}: {note}" for r in results for note in r.notes]
    return "\n".join(lines + (["", *notes] if notes else []))


@dataclass
class Harness:
    """A running stack, the dependencies the scenarios break, a user whose webhook endpoint
    is the receiver, and probers that keep asking the API."""

    stack: LocalStack
    database_url: str
    redis: RedisServer
    receiver: WebhookReceiver
    postgres: PostgresCluster | None = None
    storage: Tmpfs | None = None
    upload_image: Path | None = None
    settle_s: float = 240.0
    log: Callable[[str], None] = print
    headers: dict[str, str] = field(default_factory=dict)
    # Job id → frames it must end with, for the scenario running now.
    expected: dict[str, int] = field(default_factory=dict)
    probers: list[Prober] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.stack.base_url}/api/v1"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=30, headers=self.headers)

    def sign_up(self) -> None:
        email = f"chaos-{uuid.uuid4().hex[:8]}@example.com"
        with httpx.Client(base_url=self.api, timeout=30) as http:
            credentials = {"email": email, "password": PASSWORD}
            http.post("/auth/signup", json=credentials).raise_for_status()
            signin = http.post("/auth/signin", data={"username": email, "password": PASSWORD})
            signin.raise_for_status()
        self.headers = {"Authorization": f"Bearer {signin.json()['access_token']}"}
        with self.client() as http:
            http.post(
                "/webhooks",
                json={"url": self.receiver.url, "event_types": [COMPLETED, "job.failed"]},
            ).raise_for_status()

    def submit(self, path: Path, max_frames: int, annotate: bool = False) -> str:
        params = {"max_frames": max_frames, "annotate": annotate}
        with self.client() as http, path.open("rb") as handle:
            response = http.post(
                "/process/video",
                files={"file": (path.name, handle, "video/mp4")},
                data={"params": json.dumps(params)},
            )
        response.raise_for_status()
        job_id = str(response.json()["job_id"])
        self.expected[job_id] = max_frames
        return job_id

    def submit_many(
        self, count: int, path: Path, max_frames: int, annotate: bool = False
    ) -> list[str]:
        """`count` uploads at once, as concurrent clients would send them."""
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(lambda _: self.submit(path, max_frames, annotate), range(count)))

    def wait_frames(self, job_id: str, frames: int = 5) -> None:
        def started() -> bool:
            with self.client() as http:
                status = http.get(f"/jobs/{job_id}/status").json()
            return int(status["frames_processed"]) >= frames

        wait_until(started, 120, f"job {job_id} to start")

    # --- probes ---------------------------------------------------------------------------

    def _accepted_upload(self, _: str, response: httpx.Response) -> None:
        if response.status_code in (200, 202):
            self.expected[str(response.json()["job_id"])] = 1

    def start_probes(self, anchor_job: str) -> None:
        """A read that needs the database (a job's status), the health check, and, if an image
        is given, an upload every two seconds (its accepted jobs must complete too)."""
        auth = self.headers
        reads = Prober(
            self.api,
            [
                ("health", lambda c: c.get("/health")),
                ("status", lambda c: c.get(f"/jobs/{anchor_job}/status", headers=auth)),
            ],
        )
        self.probers = [reads]
        image = self.upload_image
        if image is not None:

            def upload(c: httpx.Client) -> httpx.Response:
                with image.open("rb") as handle:
                    return c.post(
                        "/process/image",
                        files={"file": (image.name, handle, "image/jpeg")},
                        headers=auth,
                    )

            self.probers.append(
                Prober(
                    self.api,
                    [("upload", upload)],
                    interval_s=2.0,
                    on_response=self._accepted_upload,
                )
            )
        for prober in self.probers:
            prober.start()

    def stop_probes(self) -> None:
        for prober in self.probers:
            prober.stop()

    def _tally(self, start: float, end: float) -> Counter[Outcome]:
        total: Counter[Outcome] = Counter()
        for prober in self.probers:
            total += prober.tally(start, end)
        return total

    def _recovery(self, since: float, result: Result) -> float | None:
        """The time until every probe answered again (2xx, or a deliberate 4xx such as the
        429 of a full queue); notes the slow or silent ones."""
        times: dict[str, float | None] = {}
        for prober in self.probers:
            times |= prober.recovery_s(since, timeout_s=60)
        slow = {name: t for name, t in times.items() if t is None or t > RECOVERY_GOAL_S}
        if slow:
            result.notes.append(
                "slow to answer again: "
                + ", ".join(f"{n} {'never' if t is None else f'{t:.1f}s'}" for n, t in slow.items())
            )
        if any(t is None for t in times.values()):
            return None
        return max((t for t in times.values() if t is not None), default=0.0)

    # --- outcomes ---------------------------------------------------------------------------

    def _jobs(self, ids: list[str]) -> list[asyncpg.Record]:
        return db_fetch(
            self.database_url,
            """SELECT j.id::text AS id, j.status, j.attempts, j.error,
                      count(f.frame_index) AS frames,
                      count(DISTINCT f.frame_index) AS distinct_frames
               FROM jobs j LEFT JOIN job_frames f ON f.job_id = j.id
               WHERE j.id = ANY($1::uuid[]) GROUP BY j.id""",
            ids,
        )

    def _settled(self, ids: list[str]) -> bool:
        try:
            rows = self._jobs(ids)
        except (OSError, asyncpg.PostgresError):
            return False
        finished = all(row["status"] in ("completed", "failed") for row in rows)
        return finished and len(rows) == len(ids)

    def conclude(self, result: Result, outage: tuple[float, float]) -> Result:
        """Measure recovery, wait for every job to finish and every webhook to arrive, and fill
        in the row."""
        start, back = outage
        result.recovery_s = self._recovery(back, result)
        result.answers = self._tally(start, back)
        failures: Counter[tuple[str, Outcome]] = Counter()
        for prober in self.probers:
            failures += prober.failures(start, back)
        if failures:
            result.notes.append(
                "during the outage: "
                + ", ".join(f"{probe} {outcome} x{n}" for (probe, outcome), n in failures.items())
            )
        # Uploads the probes make from here on count towards the next scenario.
        expected = dict(self.expected)
        for job_id in expected:
            del self.expected[job_id]
        try:
            wait_until(lambda: self._settled(list(expected)), self.settle_s, "jobs to finish")
        except TimeoutError:
            result.notes.append(f"some jobs were still running {self.settle_s:g}s after the fault")
        rows = self._jobs(list(expected))
        result.accepted = len(expected)
        done = [r for r in rows if r["status"] == "completed"]
        result.completed = sum(r["distinct_frames"] == expected[r["id"]] for r in done)
        result.failed = sum(r["status"] == "failed" for r in rows)
        result.duplicates = sum(r["frames"] - r["distinct_frames"] for r in rows)
        for row in rows:
            if row["status"] == "failed":
                result.notes.append(f"job {row['id'][:8]} failed: {row['error']}")
            elif row["status"] == "completed" and row["distinct_frames"] != expected[row["id"]]:
                result.notes.append(
                    f"job {row['id'][:8]} completed with {row['distinct_frames']} frames "
                    f"instead of {expected[row['id']]}"
                )
            elif row["status"] not in ("completed", "failed"):
                result.notes.append(f"job {row['id'][:8]} still {row['status']}")
        retries = result.reruns = sum(max(0, r["attempts"] - 1) for r in rows)
        if retries:
            result.notes.append(f"{retries} extra attempt(s) in all (re-runs after the fault)")
        completed_ids = {r["id"] for r in done}

        def delivered() -> bool:
            return completed_ids <= self.receiver.ids_by_job(COMPLETED).keys()

        try:
            caught_up = wait_until(delivered, 120, "job.completed webhooks")
            if caught_up > 5:
                result.notes.append(f"webhooks caught up {caught_up:.0f}s after the jobs finished")
        except TimeoutError:
            pass
        received = self.receiver.ids_by_job(COMPLETED)
        result.lost = sum(1 for job in completed_ids if job not in received)
        doubled = sum(len(received[job]) - 1 for job in completed_ids if job in received)
        if doubled:
            result.notes.append(f"{doubled} extra job.completed event(s) (distinct webhook-ids)")
        result.duplicates += doubled
        return result

    # --- scenarios ----------------------------------------------------------------------------

    def baseline(self, jobs: int = 2, max_frames: int = 20) -> Result:
        """No fault: the same checks on a quiet stack. Starts the probes, which run from here
        on, reading the status of the first job submitted here."""
        ids = self.submit_many(jobs, SHORT_VIDEO, max_frames)
        self.start_probes(ids[0])
        now = time.monotonic()
        return self.conclude(Result("no fault (baseline)"), (now, now))

    def redis_restart(self, outage_s: float, jobs: int = 3, max_frames: int = 60) -> Result:
        ids = self.submit_many(jobs, VIDEO, max_frames)
        self.wait_frames(ids[0])
        start = time.monotonic()
        self.redis.stop()
        time.sleep(outage_s)
        self.redis.start()
        return self.conclude(Result("Redis restarted mid-video"), (start, time.monotonic()))

    def postgres_restart(self, outage_s: float, jobs: int = 3, max_frames: int = 60) -> Result:
        assert self.postgres is not None
        ids = self.submit_many(jobs, VIDEO, max_frames)
        self.wait_frames(ids[0])
        start = time.monotonic()
        self.postgres.stop()
        time.sleep(outage_s)
        self.postgres.start()
        return self.conclude(Result("Postgres restarted mid-video"), (start, time.monotonic()))

    def worker_killed(self, jobs: int = 10, max_frames: int = 40, down_s: float = 2.0) -> Result:
        ids = self.submit_many(jobs, SHORT_VIDEO, max_frames)
        self.wait_frames(ids[0])
        start = time.monotonic()
        # The whole process group: the main process and its pool child, mid-frame.
        self.stack.stop_process("worker", signal.SIGKILL)
        interrupted = sum(row["status"] == "processing" for row in self._jobs(ids))
        time.sleep(down_s)
        self.stack.start_worker()
        redis_url = self.stack.env["VIGIL_REDIS_URL"]
        wait_until(lambda: worker_answers(redis_url), 180, "the restarted worker")
        result = Result(f"worker SIGKILLed under {jobs} jobs", interrupted=interrupted)
        return self.conclude(result, (start, time.monotonic()))

    def receiver_down(self, down_s: float, jobs: int = 3, max_frames: int = 30) -> Result:
        self.receiver.down()
        start = time.monotonic()
        self.submit_many(jobs, SHORT_VIDEO, max_frames)
        time.sleep(max(0.0, down_s - (time.monotonic() - start)))
        self.receiver.up()
        return self.conclude(
            Result(f"webhook receiver down {down_s:g}s"), (start, time.monotonic())
        )

    def storage_full(self, outage_s: float, jobs: int = 3, max_frames: int = 60) -> Result:
        assert self.storage is not None
        ids = self.submit_many(jobs, VIDEO, max_frames, annotate=True)
        self.wait_frames(ids[0])
        start = time.monotonic()
        filler = self.storage.fill()
        time.sleep(outage_s)
        filler.unlink()
        return self.conclude(Result("storage full"), (start, time.monotonic()))

    def storage_read_only(self, outage_s: float, jobs: int = 3, max_frames: int = 60) -> Result:
        assert self.storage is not None
        ids = self.submit_many(jobs, VIDEO, max_frames, annotate=True)
        self.wait_frames(ids[0])
        start = time.monotonic()
        self.storage.read_only()
        time.sleep(outage_s)
        self.storage.writable()
        return self.conclude(Result("storage read-only"), (start, time.monotonic()))
