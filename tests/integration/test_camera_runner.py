"""The camera runner of the stack against the real RTSP test camera, Postgres and Redis: cameras
registered through the API come online and publish events of every kind, valid against their
JSON Schemas; they ride out stalls and restarts of the camera; DELETE stops them at once (their
capture process with them) and PATCH restarts them under a new generation; four cameras share
one runner.

Timings are printed (`pytest -s` shows them) and asserted only with room to spare: the machine is
shared, and the goals (design §5.10) are for a machine that is not."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import cv2
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.cameras.events import viewers_key
from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.fixtures.stamp import read_stamp, stamp_age_ms
from tests.integration.camera_runners import (
    ROAD_PARAMS,
    Entry,
    Stream,
    camera_row,
    capture_processes,
    latest_frame,
    registered_cameras,
    stack_runner_ready,
    validate,
)
from tests.integration.conftest import db_fetch
from worker.cameras.capture import CaptureSpec, ffmpeg_options

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


T = TypeVar("T")

FIRST_EVENT_GOAL_S, FIRST_EVENT_LIMIT_S = 5.0, 20.0
STALL_GOAL_S = float(ROAD_PARAMS["stall_timeout_s"]) + 2.0
RECOVERY_GOAL_S, RECOVERY_LIMIT_S = 5.0, 15.0
STOP_WITHIN_S = 2.0
# What the street scene gives within seconds with a zone and a line over the road.
SCENE_TYPES = {"status", "detection", "motion", "zone_enter", "motion_start"}


@pytest.fixture
def cameras(client: httpx.Client, auth: dict[str, str]) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, auth) as register:
        yield register


def status(state: str) -> Callable[[Entry], bool]:
    return lambda entry: entry.is_status(state)


def is_detection(entry: Entry) -> bool:
    return entry.type == "detection"


def eventually(
    read: Callable[[], T], check: Callable[[T], bool], what: str, timeout_s: float = 15.0
) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if check(value):
            return value
        assert time.monotonic() < deadline, f"no {what} within {timeout_s}s: {value}"
        time.sleep(0.5)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def test_a_camera_comes_online_and_publishes_every_kind_of_event(
    stack: LocalStack, rtsp_camera: RtspCamera, cameras: Callable[..., dict[str, Any]]
) -> None:
    stack_runner_ready(stack)
    started = time.time()
    camera = cameras(rtsp_camera.url("/cam"))
    stream = Stream(camera["camera_uuid"])
    online = stream.wait(status("online"), "online status", FIRST_EVENT_LIMIT_S)
    first = stream.wait(is_detection, "detection event", FIRST_EVENT_LIMIT_S)
    print(
        f"\nregister → online {online.added_at - started:.2f}s, → first detection event "
        f"{first.added_at - started:.2f}s (goal {FIRST_EVENT_GOAL_S:g}s)"
    )
    assert first.added_at - started < FIRST_EVENT_LIMIT_S

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not {e.type for e in stream.entries} >= SCENE_TYPES:
        time.sleep(0.5)
        stream.read()
    kinds = Counter(e.type for e in stream.entries)
    print(f"events: {dict(kinds)}")
    assert set(kinds) >= SCENE_TYPES, kinds
    for entry in stream.entries:
        validate(entry)
    assert {e.generation for e in stream.entries} == {first.generation}
    detections = [e.payload for e in stream.entries if e.type == "detection"]
    assert all(d["class_name"] != "motion" for e in detections for d in e["detections"])
    assert first.payload["image"] == {"width": 640, "height": 352}
    assert first.payload["model_info"]["model_type"] == "yolov8n"
    latencies = [float(e["latency_ms"]["capture_to_publish"]) for e in detections]
    print(
        f"capture → publish: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms ({len(latencies)} detection events)"
    )

    # The rates are measured over the last seconds: steady a few seconds after the start.
    row = eventually(
        lambda: camera_row(camera["camera_uuid"]),
        lambda row: row["runtime"]["fps_in"] > 20 and row["runtime"]["fps_analysed"] > 1,
        "steady frame rates",
    )
    assert row["state"] == "online"
    runtime = row["runtime"]
    assert (runtime["resolution"], runtime["codec"]) == ("640x352", "h264")
    assert runtime["events_published"] > 0
    assert runtime["events_dropped"] == 0
    recorded = db_fetch(
        "SELECT payload->>'state' AS state, event_id FROM camera_events"
        " WHERE camera_uuid = $1::uuid AND type = 'status' ORDER BY timestamp",
        camera["camera_uuid"],
    )
    assert [r["state"] for r in recorded][:2] == ["starting", "online"]
    assert str(recorded[1]["event_id"]) == online.fields["event_id"]

    scraped = httpx.get(
        f"{stack.base_url}/metrics",
        headers={"Authorization": f"Bearer {TEST_ENV['VIGIL_METRICS_TOKEN']}"},
        timeout=30,
    )
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    }
    analysed = (("camera", camera["camera_uuid"]), ("kind", "analysed"))
    assert samples[("vigil_camera_fps", analysed)] > 0
    published = (("camera", camera["camera_uuid"]), ("type", "detection"))
    assert samples[("vigil_events_published_total", published)] > 0

    frame = latest_frame(camera["camera_uuid"])
    assert frame is not None, "no snapshot frame"
    image = cv2.imdecode(np.frombuffer(frame[b"jpeg"], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == (int(frame[b"height"]), int(frame[b"width"]), 3)
    # Unwatched, a frame about every 2 s; watched, live_fps (15) of them a second.
    stream.client.zadd(viewers_key(camera["camera_uuid"]), {"test-viewer": time.time() + 30})
    time.sleep(1.5)  # the runner looks at its viewers every 0.5 s
    numbers = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        watched = latest_frame(camera["camera_uuid"])
        assert watched is not None
        numbers.add(int(watched[b"frame_number"]))
        time.sleep(0.05)
    assert len(numbers) >= 4, numbers


def test_a_camera_rides_out_a_stall_and_a_restart_of_its_source(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    rtsp_camera_factory: Callable[..., RtspCamera],
    cameras: Callable[..., dict[str, Any]],
) -> None:
    stack_runner_ready(stack)
    hook = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["camera.online", "camera.offline"]},
        headers=auth,
    )
    assert hook.status_code == 201, hook.text
    source = rtsp_camera_factory(mounts=("cam",))
    camera = cameras(source.url("/cam"))
    stream = Stream(camera["camera_uuid"])
    first = stream.wait(is_detection, "first detection event", FIRST_EVENT_LIMIT_S)

    source.stall()
    stalled = time.time()
    down = stream.wait(status("reconnecting"), "reconnecting", STALL_GOAL_S + 10, after=first)
    source.resume()
    resumed = time.time()
    up = stream.wait(status("online"), "online status", RECOVERY_LIMIT_S, after=down)
    again = stream.wait(is_detection, "detections after the stall", RECOVERY_LIMIT_S, after=up)
    print(
        f"\nstall → reconnecting {down.added_at - stalled:.2f}s (goal {STALL_GOAL_S:g}s); "
        f"resume → online {up.added_at - resumed:.2f}s, → detections "
        f"{again.added_at - resumed:.2f}s (goal {RECOVERY_GOAL_S:g}s)"
    )
    assert down.added_at - stalled < STALL_GOAL_S + 5
    assert again.added_at - resumed < RECOVERY_LIMIT_S

    source.kill()
    killed = time.time()
    down = stream.wait(status("reconnecting"), "reconnecting after a kill", 10, after=again)
    source.start()
    restarted = time.time()
    up = stream.wait(status("online"), "online after the restart", RECOVERY_LIMIT_S, after=down)
    again = stream.wait(is_detection, "detections after the restart", RECOVERY_LIMIT_S, after=up)
    print(
        f"kill → reconnecting {down.added_at - killed:.2f}s; restart → online "
        f"{up.added_at - restarted:.2f}s, → detections {again.added_at - restarted:.2f}s"
    )
    assert again.added_at - restarted < RECOVERY_LIMIT_S
    for entry in stream.entries:
        validate(entry)

    runtime = camera_row(camera["camera_uuid"])["runtime"]
    assert runtime["stalls_last_hour"] >= 1
    assert runtime["reconnects_last_hour"] >= 2
    sent = db_fetch(
        "SELECT event_type, payload FROM webhook_deliveries WHERE endpoint_id = $1::uuid",
        hook.json()["id"],
    )
    by_type = Counter(row["event_type"] for row in sent)
    assert by_type["camera.offline"] == 2, by_type
    assert by_type["camera.online"] == 3, by_type
    assert all(camera["camera_uuid"] in row["payload"] for row in sent)


def test_delete_stops_the_events_and_the_capture_at_once(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    rtsp_camera_factory: Callable[..., RtspCamera],
    cameras: Callable[..., dict[str, Any]],
) -> None:
    runner_pid = stack.processes["cameras"].pid
    stack_runner_ready(stack)
    source = rtsp_camera_factory(mounts=("cam",))
    camera = cameras(source.url("/cam"))
    stream = Stream(camera["camera_uuid"])
    stream.wait(is_detection, "detection event", FIRST_EVENT_LIMIT_S)
    assert len(capture_processes(runner_pid, source.port)) == 1

    deleted = time.time()
    assert client.delete(f"/cameras/{camera['camera_id']}", headers=auth).status_code == 204
    farewell = stream.wait(status("stopped"), "stopped status", STOP_WITHIN_S)
    assert farewell.payload["reason"] == "deleted"
    while capture_processes(runner_pid, source.port):
        assert time.time() - deleted < STOP_WITHIN_S, "the capture process outlived DELETE"
        time.sleep(0.05)
    gone = time.time() - deleted
    time.sleep(STOP_WITHIN_S + 1)
    stream.read()
    last = stream.entries[-1]
    print(f"\nDELETE → last event {last.added_at - deleted:.2f}s, capture process gone {gone:.2f}s")
    assert last.added_at - deleted < STOP_WITHIN_S


def test_patching_the_parameters_restarts_the_camera_under_a_new_generation(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    stack_runner_ready(stack)
    camera = cameras(rtsp_camera.url("/cam"))
    stream = Stream(camera["camera_uuid"])
    before = stream.wait(is_detection, "detection event", FIRST_EVENT_LIMIT_S)

    patched = time.time()
    response = client.patch(
        f"/cameras/{camera['camera_id']}",
        json={"parameters": {**ROAD_PARAMS, "detect_fps": 3}},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    restarted = stream.wait(
        lambda e: e.is_status("starting") and e.generation > before.generation,
        "a start under a new generation",
        STOP_WITHIN_S + 1,
    )
    first_new = stream.wait(
        is_detection, "detection event of the new generation", FIRST_EVENT_LIMIT_S, restarted
    )
    print(
        f"\nPATCH → new generation {restarted.added_at - patched:.2f}s, → its first "
        f"detection {first_new.added_at - patched:.2f}s"
    )
    assert restarted.added_at - patched < STOP_WITHIN_S
    time.sleep(1)
    stream.read()
    index = stream.entries.index(restarted)
    assert all(e.generation == restarted.generation for e in stream.entries[index:])
    stopped = [e for e in stream.entries[:index] if e.is_status("stopped")]
    assert stopped
    assert stopped[-1].payload["reason"] == "reconfigured"
    assert camera_row(camera["camera_uuid"])["runtime"]["fps_target"] == 3


def test_four_cameras_share_one_runner(
    stack: LocalStack, rtsp_camera: RtspCamera, cameras: Callable[..., dict[str, Any]]
) -> None:
    stack_runner_ready(stack)
    four = [cameras(rtsp_camera.url("/cam"), detect_fps=5) for _ in range(4)]
    streams = [Stream(camera["camera_uuid"]) for camera in four]
    for stream in streams:
        stream.wait(is_detection, "detection event", FIRST_EVENT_LIMIT_S * 2)
    # The runner measures over 5 s; give it that, then sample its figures for a while.
    time.sleep(6)
    samples: list[list[float]] = [[] for _ in four]
    for _ in range(5):
        for figures, camera in zip(samples, four, strict=True):
            figures.append(camera_row(camera["camera_uuid"])["runtime"]["fps_analysed"])
        time.sleep(2)
    means = [statistics.mean(figures) for figures in samples]
    print(f"\nfour cameras at 5 fps: analysed {', '.join(f'{m:.2f}' for m in means)} fps")
    # Generous: on a machine busy with other work each still gets a fair share.
    assert min(means) > 1.5
    assert max(means) - min(means) < 2.0


def test_capture_to_publish_latency_on_the_stamped_camera(
    stack: LocalStack,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runner measures each detection event from the frame's arrival to its XADD; the
    stamped camera writes its capture time into every frame, and a reader here, set up as the
    runner's captures are, measures capture → arrival beside it. Their sum is camera capture →
    published (design goal 2: p95 ≤ 300 ms)."""
    stack_runner_ready(stack)
    url = rtsp_camera.url("/stamped")
    camera = cameras(url)
    stream = Stream(camera["camera_uuid"])
    first = stream.wait(is_detection, "detection event", FIRST_EVENT_LIMIT_S)

    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", ffmpeg_options(CaptureSpec(url, False)))
    reader = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    arrivals: list[float] = []
    deadline = time.monotonic() + 8
    try:
        while time.monotonic() < deadline:
            ok, image = reader.read()
            assert ok, "the stamped camera stopped"
            stamp = read_stamp(image)
            if stamp is not None:
                arrivals.append(float(stamp_age_ms(stamp)))
    finally:
        reader.release()
    stream.read()
    published = [
        float(e.payload["latency_ms"]["capture_to_publish"])
        for e in stream.entries
        if is_detection(e) and e.order > first.order
    ]
    assert arrivals
    assert published
    print(
        f"\nstamped camera: capture → arrival p50 {statistics.median(arrivals):.0f} / p95 "
        f"{percentile(arrivals, 0.95):.0f} ms; arrival → published p50 "
        f"{statistics.median(published):.0f} / p95 {percentile(published, 0.95):.0f} ms "
        f"({len(published)} events)"
    )
    assert percentile(published, 0.95) < 1000
