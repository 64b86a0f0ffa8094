"""The pieces a fault run breaks on purpose, all of them its own: a Redis server, a Postgres
cluster, a storage directory on a small tmpfs, a webhook receiver, and a prober that keeps
asking the API and tallies what it answers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import redis

PG_BIN = Path("/usr/lib/postgresql")
# A probe not answered within this long counts as a hang: the bound the API must keep while a
# dependency is down.
PROBE_TIMEOUT_S = 10.0


def _wait(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s}s")


class RedisServer:
    """redis-server on its own port, without persistence: a restart loses every queued and
    unacknowledged message, the harshest case for the broker."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait(self.ping, 20, f"redis on port {self.port}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


class PostgresCluster:
    """A Postgres cluster of its own (trust auth), so it can be restarted under a running
    stack without disturbing anyone else's. initdb refuses to run as root, hence `runuser`."""

    def __init__(self, base: Path, port: int) -> None:
        self.port = port
        self.home = base / "postgres"
        self.data = self.home / "data"
        versions = sorted(PG_BIN.iterdir(), key=lambda p: int(p.name)) if PG_BIN.exists() else []
        if not versions:
            raise RuntimeError(f"no Postgres server binaries under {PG_BIN}")
        self.bin = versions[-1] / "bin"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/vigil"

    def _as_postgres(self, *command: str) -> None:
        run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*run_as, *command], check=True, capture_output=True)

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The cluster's user must be able to reach its directory through every parent.
            self.home.parent.chmod(0o755)
            shutil.chown(self.home, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.home / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut, as when the server restarts under them."""
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
        )


class Tmpfs:
    """A small tmpfs for the storage directory: it can fill up and turn read-only for real,
    which chmod cannot do to root."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        self.size_mb = size_mb

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs", str(self.path)],
            check=True,
            capture_output=True,
        )

    def read_only(self) -> None:
        """New writes fail with EROFS. A read-only bind mount on top, because remounting the
        tmpfs itself is refused while a file on it is open for writing (a job's output)."""
        subprocess.run(["mount", "--bind", str(self.path), str(self.path)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(self.path)], check=True)

    def writable(self) -> None:
        subprocess.run(["umount", str(self.path)], check=True)

    def fill(self) -> Path:
        """Write a file until the filesystem is full; returns it, for `unfill`."""
        filler = self.path / "filler"
        block = b"\0" * (1 << 20)
        with filler.open("wb") as handle:
            try:
                while True:
                    handle.write(block)
                    handle.flush()
            except OSError:
                pass  # ENOSPC: the point
        # Fill the last partial block too, so even small writes fail.
        with contextlib.suppress(OSError), filler.open("ab") as handle:
            while True:
                handle.write(b"\0" * 512)
                handle.flush()
        return filler

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)


@dataclass
class Delivery:
    webhook_id: str
    event_type: str
    job_id: str
    at: float


class WebhookReceiver:
    """A real HTTP server on a fixed port that records every webhook and answers 200; `down()`
    closes the socket, so the sender meets refused connections until `up()`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                payload = json.loads(body or b"{}")
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(
                            webhook_id=self.headers.get("webhook-id", ""),
                            event_type=str(payload.get("type")),
                            job_id=str(payload.get("data", {}).get("job_id")),
                            at=time.monotonic(),
                        )
                    )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def up(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids_by_job(self, event_type: str) -> dict[str, set[str]]:
        """Distinct webhook-ids received per job for one event type (retries share an id)."""
        with self._lock:
            found: dict[str, set[str]] = {}
            for delivery in self.deliveries:
                if delivery.event_type == event_type:
                    found.setdefault(delivery.job_id, set()).add(delivery.webhook_id)
            return found


Outcome = int | str  # an HTTP status, "timeout" or "error" (no connection)


@dataclass(frozen=True)
class Sample:
    at: float
    probe: str
    outcome: Outcome


# A probe: a name, and the request it sends with a client of short timeout.
Probe = tuple[str, Callable[[httpx.Client], httpx.Response]]


@dataclass
class Prober:
    """Asks the API every `interval_s`, from a thread, each probe with a short client timeout,
    and keeps every answer with its time."""

    base_url: str
    probes: list[Probe]
    interval_s: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    # Answers to probes that created something (an upload), for the caller to follow up.
    on_response: Callable[[str, httpx.Response], None] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=PROBE_TIMEOUT_S) as client:
            while not self._stop.is_set():
                for name, send in self.probes:
                    outcome: Outcome
                    try:
                        response = send(client)
                        outcome = response.status_code
                        if self.on_response is not None:
                            self.on_response(name, response)
                    except httpx.TimeoutException:
                        outcome = "timeout"
                    except httpx.HTTPError:
                        outcome = "error"
                    self.samples.append(Sample(time.monotonic(), name, outcome))
                self._stop.wait(self.interval_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=PROBE_TIMEOUT_S * len(self.probes) + 5)

    def tally(self, start: float, end: float) -> Counter[Outcome]:
        return Counter(s.outcome for s in list(self.samples) if start <= s.at < end)

    def recovery_s(self, since: float, timeout_s: float) -> dict[str, float | None]:
        """Seconds from `since` to each probe's first answer below 500; waits up to `timeout_s`
        for them all. None for a probe that never got one."""
        deadline = time.monotonic() + timeout_s
        names = [name for name, _ in self.probes]
        while True:
            first: dict[str, float | None] = dict.fromkeys(names)
            for sample in list(self.samples):
                ok = isinstance(sample.outcome, int) and sample.outcome < 500
                if ok and sample.at >= since and first[sample.probe] is None:
                    first[sample.probe] = sample.at - since
            if all(t is not None for t in first.values()) or time.monotonic() > deadline:
                return first
            time.sleep(0.2)

    def failures(self, start: float, end: float) -> Counter[tuple[str, Outcome]]:
        """(probe, outcome) of the answers in the window other than 2xx and 503."""
        return Counter(
            (s.probe, s.outcome)
            for s in list(self.samples)
            if start <= s.at < end
            and not (isinstance(s.outcome, int) and s.outcome < 300)
            and s.outcome != 503
        )
