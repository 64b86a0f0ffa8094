"""Request bodies have a size limit on every route (F-03), against the real API: oversize
bodies are refused with 413 before the API holds them, declared or streamed, while bodies
under the limit and uploads (which have their own, larger bound) go through.

The requests go over a raw socket: a client that sends a whole 20 MB body before reading the
answer would measure itself, not the API, which answers as soon as it has refused the body."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from shared.ops.localstack import LocalStack

MB = 1024 * 1024
OVERSIZE = 20 * MB
CHUNK = 64 * 1024
# How much the API's peak memory may grow while it refuses a 20 MB body.
RSS_SLACK_KB = 8 * 1024


@dataclass
class Answer:
    status: int
    body: dict[str, object]
    seconds: float
    sent: int


def _chunks(total: int, first: bytes = b"") -> Iterator[bytes]:
    yield first
    sent = len(first)
    while sent < total:
        piece = b"A" * min(CHUNK, total - sent)
        sent += len(piece)
        yield piece


def _post_raw(
    port: int, path: str, headers: dict[str, str], chunks: Iterable[bytes], chunked: bool = False
) -> Answer:
    """Send the body while watching for the answer, and stop sending once it comes (as curl
    does): a client that writes on would only meet the reset of a connection the API closed."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    pieces = iter(chunks)
    pending, sent, raw, sending = (head + "\r\n").encode(), 0, b"", True
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setblocking(False)
        while True:
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], 30)
            assert readable or writable, "the API neither answered nor read for 30 s"
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                raw, sending = raw + data, False
                continue
            if not pending:
                chunk = next(pieces, None)
                if chunk is None:
                    sending = False
                    sock.sendall(b"0\r\n\r\n" if chunked else b"")
                    continue
                sent += len(chunk)
                pending = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            try:
                pending = pending[sock.send(pending) :]
            except (BrokenPipeError, ConnectionResetError):
                sending = False
    seconds = time.perf_counter() - started
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return Answer(int(status_line.split()[1]), json.loads(payload or b"{}"), seconds, sent)


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def api_pid(stack: LocalStack) -> int:
    """The API process, its peak memory reset to what it holds now (Linux clear_refs)."""
    pid = stack.processes["api"].pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return pid


def _assert_refused(answer: Answer, limit: int) -> None:
    assert answer.status == 413, answer
    assert answer.body["error"] == "payload_too_large"
    assert answer.body["max_bytes"] == limit
    assert answer.seconds < 5


def test_a_declared_oversize_json_body_is_refused_unread(stack: LocalStack, api_pid: int) -> None:
    """F-03: a 200 MB JSON body to /auth/token-refresh (no credentials) was read and parsed
    whole (peak RSS 145 -> 740 MB) before the answer, a plain 401."""
    before = _peak_rss_kb(api_pid)
    body = b'{"refresh_token": "'
    answer = _post_raw(
        stack.api_port,
        "/api/v1/auth/token-refresh",
        {"Content-Type": "application/json", "Content-Length": str(OVERSIZE)},
        _chunks(OVERSIZE, body),
    )
    grown = _peak_rss_kb(api_pid) - before
    print(f"20 MB declared JSON: {answer.status} in {answer.seconds:.3f} s, peak RSS +{grown} kB")
    _assert_refused(answer, MB)
    assert answer.sent < OVERSIZE
    assert grown < RSS_SLACK_KB


@pytest.mark.parametrize(
    ("path", "content_type", "first"),
    [
        pytest.param(
            "/api/v1/auth/token-refresh", "application/json", b'{"refresh_token": "', id="json"
        ),
        # F-03b: sign-in reads a form (multipart is refused with 415 before it is read).
        pytest.param(
            "/api/v1/auth/signin",
            "application/x-www-form-urlencoded",
            b"username=a%40example.com&password=",
            id="signin-form",
        ),
    ],
)
def test_a_streamed_oversize_body_is_refused_once_past_the_limit(
    stack: LocalStack, api_pid: int, path: str, content_type: str, first: bytes
) -> None:
    """Without Content-Length the body is counted as it arrives: 413 after about 1 MiB."""
    before = _peak_rss_kb(api_pid)
    answer = _post_raw(
        stack.api_port, path, {"Content-Type": content_type}, _chunks(OVERSIZE, first), True
    )
    grown = _peak_rss_kb(api_pid) - before
    print(f"20 MB chunked to {path}: {answer.status} in {answer.seconds:.3f} s, +{grown} kB")
    _assert_refused(answer, MB)
    assert answer.sent < OVERSIZE
    assert grown < RSS_SLACK_KB


def test_a_body_under_the_limit_is_read(client: httpx.Client) -> None:
    response = client.post("/auth/token-refresh", json={"refresh_token": "A" * (MB - 100)})
    assert response.status_code in (401, 422), response.text


def test_an_upload_over_the_json_limit_still_goes_through(
    client: httpx.Client, auth: dict[str, str], tmp_path: Path
) -> None:
    """Uploads have their own, larger bound, derived from VIGIL_MAX_IMAGE_BYTES and friends."""
    noise = np.random.default_rng(7).integers(0, 256, (720, 720, 3), dtype=np.uint8)
    image = tmp_path / "noise.png"
    assert cv2.imwrite(str(image), noise)
    assert image.stat().st_size > 1.2 * MB
    with image.open("rb") as handle:
        response = client.post(
            "/process/image", files={"file": ("noise.png", handle, "image/png")}, headers=auth
        )
    assert response.status_code in (200, 202), response.text
