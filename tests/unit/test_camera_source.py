"""Camera sources as the API checks them: file paths the file system refuses, URLs the parser
cannot read (whose refusal must not quote a password), credentials in a query string, and the
threads the address checks run on (a request's share of them, deadlines that never abandon a
thread), and a list's cameras failing alone."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.cameras import service, validation
from shared.cameras.source import check_file_source, check_query, parse_source
from shared.errors import AppError, UnprocessableError

# file:// sources


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "clip.mp4").write_bytes(b"not really a video")
    return tmp_path


def refusal(check: Callable[[], object]) -> str:
    with pytest.raises(UnprocessableError) as refused:
        check()
    return refused.value.detail


def test_a_file_under_the_root_is_played(root: Path) -> None:
    assert check_file_source(parse_source(f"file://{root}/clip.mp4"), root) == root / "clip.mp4"


@pytest.mark.parametrize("encoded", ["%00", "%0a", "%7f", "%c2%85"])
def test_a_control_character_in_a_file_path_is_refused(root: Path, encoded: str) -> None:
    detail = refusal(lambda: parse_source(f"file://{root}/clip{encoded}.mp4"))
    assert detail == "stream_url: its path contains a control character once percent-decoded"


def test_a_path_the_file_system_cannot_take_is_refused(root: Path) -> None:
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")
    for name in ("a" * 256 + ".mp4", "loop-a", f"{'b' * 300}/clip.mp4"):
        source = parse_source(f"file://{root}/{name}")
        with pytest.raises(UnprocessableError) as refused:
            check_file_source(source, root)
        assert "the path cannot be opened" in refused.value.detail, name


def test_control_characters_in_credentials_are_refused() -> None:
    detail = refusal(lambda: parse_source("rtsp://admin:se%00cret@192.168.1.20/"))
    assert detail == "stream_url: its password contains a control character once percent-decoded"


# what a refusal may say


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        # The parser reads `[Hunter2]` as a bracketed host and says it is no address.
        ("rtsp://admin:[Hunter2]/@192.168.1.20/", "Hunter2"),
        # An unencoded `/` ends the host early: the parser takes `hunter` for the port.
        ("rtsp://admin:hunter/two@192.168.1.20/", "hunter"),
        # The parser quotes the whole netloc when NFKC changes it.
        ("rtsp://admin:Zebra\uff03x@192.168.1.20/", "Zebra"),
        ("rtsp://admin:Hunter2@[::1/", "Hunter2"),
    ],
)
def test_an_unreadable_url_is_refused_without_quoting_it(url: str, secret: str) -> None:
    detail = refusal(lambda: parse_source(url))
    assert detail.startswith("stream_url: not a valid URL")
    assert secret not in detail
    assert "admin" not in detail


@pytest.mark.parametrize(
    "query",
    [
        "password=hunter2",
        "user=admin&pwd=hunter2",
        "username=admin&passwd=hunter2",
        "Password=hunter2",
        "token=abc",
        "auth=YWRtaW46aHVudGVyMg",
        "channel=1&PWD=",
    ],
)
def test_credentials_in_the_query_are_refused(query: str) -> None:
    detail = refusal(lambda: check_query(parse_source(f"rtsp://192.168.1.20/live?{query}")))
    assert "user:password@" in detail
    assert "hunter2" not in detail
    assert "YWRtaW46aHVudGVyMg" not in detail


def test_a_query_without_credentials_is_kept() -> None:
    source = parse_source("rtsp://192.168.1.20/live?channel=1&subtype=0&user=admin")
    check_query(source)
    assert source.url == "rtsp://192.168.1.20/live?channel=1&subtype=0&user=admin"


# the check threads


class Gauge:
    """Blocking calls that count how many run at once, as a slow resolver would block."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.released = threading.Event()

    def _enter(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def _leave(self) -> None:
        with self.lock:
            self.running -= 1

    def sleep(self, seconds: float) -> str:
        self._enter()
        time.sleep(seconds)
        self._leave()
        return "checked"

    def hang(self) -> str:
        """Until `released`: a resolver that answers long after any deadline."""
        self._enter()
        self.released.wait(30)
        self._leave()
        return "checked"


def outcomes(results: list[Any]) -> list[str]:
    """What each check came to: `checked`, or its refusal (anything else, as itself)."""
    return [
        result.detail if isinstance(result, UnprocessableError) else str(result)
        for result in results
    ]


def test_a_request_checks_four_sources_at_a_time() -> None:
    gauge = Gauge()

    async def register_twelve() -> list[str]:
        checks = validation.SourceChecks()
        return list(await asyncio.gather(*(checks.run(gauge.sleep, 0.05) for _ in range(12))))

    assert asyncio.run(register_twelve()) == ["checked"] * 12
    assert gauge.most == validation.CHECKS_PER_REQUEST


def test_a_check_past_its_deadline_keeps_its_thread_until_the_resolver_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validation, "CHECK_TIMEOUT_S", 0.1)
    gauge = Gauge()

    async def register_five() -> tuple[list[Any], float]:
        checks = validation.SourceChecks()
        asyncio.get_running_loop().call_later(0.6, gauge.released.set)
        started = time.monotonic()
        results = await asyncio.gather(
            *(checks.run(gauge.hang) for _ in range(5)), return_exceptions=True
        )
        return list(results), time.monotonic() - started

    results, took = asyncio.run(register_five())
    timed_out = "stream_url: could not be checked within 0.1 s (its host does not resolve in time)"
    # Four answered 422 at their deadline; the fifth had to wait for one of their threads to
    # return, since a thread past its deadline is not abandoned.
    assert outcomes(results) == [timed_out] * 4 + ["checked"]
    assert gauge.most == validation.CHECKS_PER_REQUEST
    assert took >= 0.6


def test_waiting_for_a_thread_is_not_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other requests' hung checks hold every thread: a check that waits for one still gets its
    own full deadline, and no more threads than CHECK_THREADS ever run."""
    monkeypatch.setattr(validation, "CHECK_TIMEOUT_S", 0.2)
    gauge = Gauge()
    requests = validation.CHECK_THREADS // validation.CHECKS_PER_REQUEST

    async def crowded() -> tuple[list[Any], Any]:
        hung = [
            checks.run(gauge.hang)
            for checks in (validation.SourceChecks() for _ in range(requests))
            for _ in range(validation.CHECKS_PER_REQUEST)
        ]
        waiting = asyncio.gather(*hung, return_exceptions=True)
        await asyncio.sleep(0.05)
        asyncio.get_running_loop().call_later(0.6, gauge.released.set)
        latecomer = await validation.SourceChecks().run(gauge.sleep, 0)
        return list(await waiting), latecomer

    hung, latecomer = asyncio.run(crowded())
    assert latecomer == "checked"
    assert len(outcomes(hung)) == validation.CHECK_THREADS
    assert "checked" not in outcomes(hung)
    assert gauge.most == validation.CHECK_THREADS


def test_a_request_waits_for_its_turns_for_a_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "CHECKS_WAIT_S", 0.3)
    gauge = Gauge()

    async def register_eight() -> list[Any]:
        checks = validation.SourceChecks()
        return list(
            await asyncio.gather(
                *(checks.run(gauge.sleep, 0.5) for _ in range(8)), return_exceptions=True
            )
        )

    results = outcomes(asyncio.run(register_eight()))
    assert results[:4] == ["checked"] * 4
    assert len(results) == 8
    assert all(result.startswith("stream_url: not checked") for result in results[4:])


# a list's cameras


def test_a_bug_in_one_cameras_checks_fails_that_camera_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = validation.new_camera

    async def buggy(camera_id: str, *args: Any) -> Any:
        if camera_id == "buggy":
            raise KeyError("a bug")
        return await real(camera_id, *args)

    monkeypatch.setattr(validation, "new_camera", buggy)
    items = [
        {"camera_id": "buggy", "stream_url": "rtsp://192.168.1.20/"},
        {"camera_id": "fine", "stream_url": "rtsp://192.168.1.21/"},
        {"camera_id": "refused", "stream_url": "http://192.168.1.22/"},
    ]

    async def prepare() -> list[Any]:
        checks = validation.SourceChecks()
        return list(await asyncio.gather(*(service._prepared(raw, checks) for raw in items)))

    with caplog.at_level(logging.ERROR, logger="api.cameras.service"):
        bug, fine, refused = asyncio.run(prepare())
    assert isinstance(bug, AppError)
    assert (bug.status_code, bug.code) == (500, "internal_error")
    assert "KeyError: 'a bug'" in caplog.text  # logged with its traceback, not swallowed
    assert fine.camera_id == "fine"
    assert isinstance(refused, UnprocessableError)
    assert "rtsp://" in refused.detail
