"""`python -m bench.api_status` (`make bench-api`): status polls under load.

wrk drives `GET /api/v1/jobs/{id}/status` with a bearer token on a real stack (API, worker,
webhook sender, camera runner, live service; its own database and Redis db 13), the API
served by one process per core as `make run` and the image serve it. In the same run and on
the same stack, the baseline: a bare uvicorn + FastAPI app with as many processes, answering
the same body without middleware, authentication or database (bench/api_baseline.py), which is
what the framework alone does on this machine. Printed: requests/s, p50 and p99 of both, the
servers' CPU per request (all their processes, whatever else runs on the machine), the ratio
and PASS or FAIL against the goal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.api_baseline import BODY_VARIABLE
from bench.image_endpoint import api_stack, bus_image
from shared.ops.localstack import REPO_ROOT, LocalStack, free_port
from shared.settings import available_cores

GOAL_REQUESTS_PER_S = 1500.0
GOAL_P99_MS = 50.0
THREADS, CONNECTIONS, DURATION_S = 2, 32, 15
# Unmeasured, before each run: every process opens its connections and prepares its statements.
WARMUP_S = 3
# Far above what wrk sends from one address as one user: the limits still count every request.
RATE_LIMITS = {
    "VIGIL_RATE_LIMIT_IP_PER_MINUTE": "100000000",
    "VIGIL_RATE_LIMIT_USER_PER_MINUTE": "100000000",
}
READY_TIMEOUT_S = 60.0
_LATENCY = re.compile(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class WrkRun:
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    # Socket errors and answers other than 2xx/3xx: any is a failed run.
    errors: int
    # CPU time of the server's processes, all of them, per request answered.
    cpu_ms_per_request: float


@dataclass(frozen=True)
class StatusResult:
    workers: int
    cores: int
    baseline: WrkRun
    ours: WrkRun
    load_before: float
    load_after: float

    @property
    def ratio(self) -> float:
        """Our requests/s over the baseline's."""
        return self.ours.requests_per_s / self.baseline.requests_per_s

    @property
    def passed(self) -> bool:
        return (
            self.ours.errors == 0
            and self.ours.requests_per_s >= GOAL_REQUESTS_PER_S
            and self.ours.p99_ms <= GOAL_P99_MS
        )


def parse_wrk(output: str, cpu_s: float) -> WrkRun:
    """The figures of `wrk --latency` output; `cpu_s` is what the server spent meanwhile."""
    latencies = {
        int(percent): float(value) * _TO_MS[unit]
        for percent, value, unit in _LATENCY.findall(output)
    }
    requests, rate = _REQUESTS.search(output), _RATE.search(output)
    if requests is None or rate is None or not {50, 99} <= latencies.keys():
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    count = int(requests.group(1))
    socket_errors = _SOCKET_ERRORS.search(output)
    non_2xx = _NON_2XX.search(output)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return WrkRun(
        requests=count,
        requests_per_s=float(rate.group(1)),
        p50_ms=latencies[50],
        p99_ms=latencies[99],
        errors=errors,
        cpu_ms_per_request=cpu_s * 1000 / count if count else float("nan"),
    )


def _ticks(stat: str) -> tuple[int, int]:
    """(parent pid, utime + stime) of a /proc/<pid>/stat line."""
    # The command name, in parentheses, may hold spaces: fields are counted after it.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_cpu_s(root: int) -> float:
    """CPU seconds `root` and every live descendant (uvicorn's worker processes) have used."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)], ticks[int(entry.name)] = _ticks((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, headers: dict[str, str], seconds: int) -> str:
    executable = shutil.which("wrk")
    if executable is None:
        raise RuntimeError("wrk is not installed: `make install` installs it (apt package wrk)")
    command = [executable, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return done.stdout


def measure(url: str, headers: dict[str, str], server_pid: int) -> WrkRun:
    """A warm-up, then the timed run, with the server's CPU over the timed run."""
    wrk(url, headers, WARMUP_S)
    before = tree_cpu_s(server_pid)
    output = wrk(url, headers, DURATION_S)
    return parse_wrk(output, tree_cpu_s(server_pid) - before)


def finished_job(client: httpx.Client) -> str:
    """A job of the benchmark's user that has run: an image, answered with its detections."""
    with bus_image().open("rb") as image:
        response = client.post("/api/v1/process/image", files={"file": ("bus.jpg", image)})
    response.raise_for_status()
    return str(response.json()["job_id"])


@contextmanager
def bare_server(body: bytes, workers: int, log_dir: Path) -> Iterator[tuple[str, int]]:
    """The baseline app on a port of its own: (its base URL, its pid)."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "baseline.log").open("ab") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench.api_baseline:app",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--log-level", "warning", "--no-access-log",
            ],
            cwd=REPO_ROOT, env=os.environ | {BODY_VARIABLE: body.decode()},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, server)
        yield base_url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the baseline app exited with {server.returncode}")
        try:
            httpx.get(f"{base_url}/api/v1/jobs/ready/status", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def bench_status(stack: LocalStack, client: httpx.Client) -> StatusResult:
    """Both sides on `stack`, whose API has `stack.api_workers` processes; `client` is signed
    in, and its bearer token is the one wrk sends."""
    load_before = os.getloadavg()[0]
    path = f"/api/v1/jobs/{finished_job(client)}/status"
    answer = client.get(path)
    answer.raise_for_status()
    with bare_server(answer.content, stack.api_workers, stack.log_dir) as (bare_url, bare_pid):
        baseline = measure(f"{bare_url}{path}", {}, bare_pid)
    auth = {"Authorization": client.headers["Authorization"]}
    ours = measure(f"{stack.base_url}{path}", auth, stack.processes["api"].pid)
    return StatusResult(
        workers=stack.api_workers,
        cores=available_cores(),
        baseline=baseline,
        ours=ours,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def _run_line(label: str, run: WrkRun) -> str:
    errors = f", {run.errors} errors" if run.errors else ""
    return (
        f"  {label:<34} {run.requests_per_s:>8,.0f} req/s   p50 {run.p50_ms:6.1f} ms   "
        f"p99 {run.p99_ms:6.1f} ms   CPU {run.cpu_ms_per_request:5.2f} ms/request{errors}"
    )


def status_lines(result: StatusResult) -> list[str]:
    verdict = "PASS" if result.passed else "FAIL"
    return [
        f"status polls: wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION_S}s, {result.workers} "
        f"processes each on {result.cores} cores (load {result.load_before:.2f} before, "
        f"{result.load_after:.2f} after)",
        _run_line("baseline: bare FastAPI, same body", result.baseline),
        _run_line("ours: GET /api/v1/jobs/{id}/status", result.ours),
        f"  ours / baseline: {result.ratio:.2f} of the requests/s",
        f"  goal: >= {GOAL_REQUESTS_PER_S:,.0f} req/s and p99 <= {GOAL_P99_MS:.0f} ms, "
        f"no errors: {verdict}",
    ]


def run() -> StatusResult:
    """On a stack of its own, the API with one process per core."""
    with api_stack(RATE_LIMITS, available_cores()) as api:
        return bench_status(api.stack, api.client)


def main() -> int:
    result = run()
    print("\n".join(status_lines(result)), flush=True)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
