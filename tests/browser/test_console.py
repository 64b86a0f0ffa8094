"""One user through the web console in Chromium, against the real stack: sign up and sign in,
open an address that cannot be decoded, upload a video with a preset and watch it complete,
play its annotated video and seek from the events timeline, add a file camera and draw a zone
on its picture by mouse, watch it live over WebRTC and see its zone events arrive, see events
arrive across cameras, watch the stamped RTSP camera live and measure its frame rate and
latency in the page, watch a grid of more cameras than live view sessions (the tiles beyond
the user's cap play MJPEG without being refused), leave a grid of live tiles while their offers
are on their way and still watch a camera over WebRTC, use the settings, sign out. The tests
run in this order and share the page; each checks that nothing went wrong in the page meanwhile
(tests/browser/conftest.py).
Each test names `console` before `page`: the console's runner is started (which waits on
asyncio) before Playwright's loop runs in this thread.

With VIGIL_SCREENSHOT_DIR set, each main page is saved there as console-<page>.png (the README
shows those of docs/images)."""

from __future__ import annotations

import base64
import re
import shutil
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import httpx
import pytest
from playwright.sync_api import APIResponse, Page, Request, Route, expect

from shared.ops.localstack import LocalStack
from tests.browser.conftest import ConsoleWatch, screenshot
from tests.fixtures.rtsp_camera import RtspCamera
from tests.fixtures.stamp import WATCH_STAMPS_JS
from tests.integration.camera_runners import own_runners
from tests.integration.conftest import PASSWORD, api_process
from tests.media import CARS_MP4

CONSOLE_HEADER = {"X-Requested-With": "vigil-console"}
CAMERA_ID = "street"
# The zone's corners, as shares of the picture's width and height, clicked in this order.
ZONE = [(0.1, 0.55), (0.9, 0.55), (0.9, 0.95), (0.1, 0.95)]
STAMPED_ID = "stamped"
# Live view sessions a user may hold at once (VIGIL_WEBRTC_MAX_SESSIONS_PER_USER's default).
LIVE_PLACES = 4
# With the street camera, a grid of five tiles: one more than the user's live view sessions.
MORE_IDS = ("gate", "yard", "dock", "pier")
LIVE_FPS = 15
# Seconds of watching a live view: frames counted, stamps read.
WATCH_S = 4.0
# Frames a live view must show within the first WATCH_S (street camera): pictures, not a still.
MIN_FRAMES = 10
# The browser goals (fps ≥ 0.9 of live_fps, p95 ≤ 400 ms) are `make bench-live`'s; here, room to
# spare on a busy machine.
MIN_FPS_SHARE = 0.5
LATENCY_P95_LIMIT_MS = 1500.0
MIN_STAMPED_SHARE = 0.8
# The live view's <video> in a tile of the grid (by camera id) or on a camera's page (null),
# playing a WebRTC stream: the console's label says so, and the element decodes frames.
PLAYS_WEBRTC = """id => {
  const box = document.querySelector(id ? `[data-camera="${id}"] .live` : ".live.large");
  const video = box && box.querySelector("video");
  return Boolean(video && box.querySelector(".mode").textContent === "WebRTC"
    && video.srcObject instanceof MediaStream && video.videoWidth > 0);
}"""


@dataclass
class Console:
    base_url: str
    email: str
    camera_files: Path
    job_id: str = ""
    zone: str = ""

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=30)

    def bearer(self, http: httpx.Client) -> dict[str, str]:
        answer = http.post("/auth/signin", data={"username": self.email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def console(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """An API and a camera runner that may play the video files of a folder of this module's
    (file cameras), over the session's stack; the user's cameras are deleted afterwards."""
    files = tmp_path_factory.mktemp("console-camera-files")
    shutil.copy(CARS_MP4, files / CARS_MP4.name)
    env = {"VIGIL_CAMERA_FILE_ROOT": str(files)}
    with own_runners(stack, env, count=1), api_process("console", env) as api:
        made = Console(api.base_url, f"console-{uuid.uuid4().hex[:8]}@example.com", files)
        try:
            yield made
        finally:
            with made.api() as http:
                headers = made.bearer(http)
                for camera in http.get("/cameras", headers=headers).json()["items"]:
                    http.delete(f"/cameras/{camera['camera_id']}", headers=headers)


def _heading(page: Page, text: str, timeout: float = 30_000) -> None:
    expect(page.locator("main h1")).to_have_text(text, timeout=timeout)


def _refresh_cookie(page: Page) -> dict[str, object] | None:
    cookies = [c for c in page.context.cookies() if c["name"] == "vigil_refresh"]
    return dict(cookies[0]) if cookies else None


def test_sign_up_and_sign_in(console: Console, page: Page) -> None:
    page.goto(f"{console.base_url}/")
    _heading(page, "Sign in")
    page.wait_for_function("() => document.documentElement.dataset.loadedMs")
    loaded_ms = page.evaluate("Number(document.documentElement.dataset.loadedMs)")
    print(f"first screen (sign-in, cold cache) after {loaded_ms} ms")

    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(console.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    _heading(page, "Jobs")
    expect(page.locator("#account-email")).to_have_text(console.email)

    # The refresh token is where no script of the page can read it.
    cookie = _refresh_cookie(page)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/browser"
    assert "vigil_refresh" not in page.evaluate("document.cookie")
    # A reload keeps the session: the cookie gets a new access token.
    page.reload()
    _heading(page, "Jobs")
    page.wait_for_function("() => document.documentElement.dataset.loadedMs")
    loaded_ms = page.evaluate("Number(document.documentElement.dataset.loadedMs)")
    print(f"first screen (jobs, signed in, warm cache) after {loaded_ms} ms")

    page.get_by_role("button", name="Sign out").click()
    _heading(page, "Sign in")
    page.get_by_label("Email").fill(console.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    _heading(page, "Jobs")


def test_a_malformed_address_leads_home_without_an_error(console: Console, page: Page) -> None:
    """A cut-short escape in the address (`%A` ends it) cannot be decoded: the console goes
    home rather than failing in the page, whether it arrives as a new address or at load."""
    page.goto(f"{console.base_url}/#/settings/account")
    _heading(page, "Settings: Account")
    page.goto(f"{console.base_url}/#/%E0%A4%A")
    _heading(page, "Jobs")
    page.reload()
    _heading(page, "Jobs")


def test_upload_a_video_with_a_preset_and_watch_it_complete(console: Console, page: Page) -> None:
    page.goto(f"{console.base_url}/#/jobs")
    _heading(page, "Jobs")
    page.get_by_label("Preset").select_option("activity")
    page.get_by_label("Analyse every Nth frame (videos)").fill("3")
    # Dropped on the drop zone, as a person drags it from their files.
    page.evaluate(
        """([name, data]) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type: "video/mp4" }));
          const zone = document.getElementById("dropzone");
          for (const type of ["dragenter", "dragover", "drop"]) {
            const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
            zone.dispatchEvent(new DragEvent(type, init));
          }
        }""",
        [CARS_MP4.name, base64.b64encode(CARS_MP4.read_bytes()).decode()],
    )
    upload = page.locator(f'.uploads li[data-file="{CARS_MP4.name}"]')
    expect(upload.locator(".badge")).to_have_text("completed", timeout=180_000)
    job_id = upload.get_attribute("data-job")
    assert job_id
    console.job_id = job_id
    expect(page.locator(f'main table a[href="#/jobs/{job_id}"]')).to_have_text(CARS_MP4.name)
    screenshot(page, "jobs")


def test_results_play_the_annotated_video_and_the_timeline_seeks(
    console: Console, page: Page
) -> None:
    page.locator(f'.uploads li[data-job="{console.job_id}"] a').click()
    _heading(page, CARS_MP4.name)
    page.wait_for_function(
        "() => { const v = document.querySelector('video.media');"
        " return v && v.readyState >= 2 && v.duration > 0; }",
        timeout=60_000,
    )
    duration = page.evaluate("document.querySelector('video.media').duration")
    # The chart of people and objects per second, and the figures under it.
    expect(page.locator(".chart svg path.people")).to_have_count(1)
    expect(page.locator(".chart svg path.objects")).to_have_count(1)
    buttons = page.locator(".events-list button")
    times = [float(t) for t in buttons.evaluate_all("all => all.map((b) => b.dataset.time)")]
    later = [i for i, t in enumerate(times) if 0.5 < t < duration - 0.2]
    assert later, f"no event to seek to within the video: {times}"
    target = later[-1]
    buttons.nth(target).click()
    position = page.evaluate("document.querySelector('video.media').currentTime")
    assert abs(position - times[target]) < 0.05, (position, times[target])
    page.wait_for_function("() => document.querySelector('video.media').readyState >= 2")
    screenshot(page, "job")


def test_add_a_file_camera_with_a_zone_drawn_on_its_picture(console: Console, page: Page) -> None:
    page.goto(f"{console.base_url}/#/cameras/new")
    _heading(page, "Add a camera")
    page.get_by_label("Camera id").fill(CAMERA_ID)
    page.get_by_label("Name", exact=True).fill("Street")
    page.get_by_label("Source URL").fill(f"file://{console.camera_files / CARS_MP4.name}")
    page.get_by_label("Analysed frames per second").fill("5")
    page.get_by_role("button", name="Add camera").click()
    _heading(page, "Edit Street")
    picture = page.locator(".editor img")
    expect(picture).to_be_visible(timeout=90_000)

    page.get_by_role("button", name="Draw a zone").click()
    box = picture.bounding_box()
    assert box is not None
    for x, y in ZONE:
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.get_by_role("button", name="Close polygon").click()
    expect(page.locator(".editor svg polygon.zone")).to_have_count(1)
    screenshot(page, "camera-editor")
    page.get_by_role("button", name="Save zones and lines").click()
    _heading(page, "Street")

    with console.api() as http:
        camera = http.get(f"/cameras/{CAMERA_ID}", headers=console.bearer(http)).json()
    (zone,) = camera["parameters"]["zones"]
    assert len(zone["polygon"]) == len(ZONE)
    for (x, y), (clicked_x, clicked_y) in zip(zone["polygon"], ZONE, strict=True):
        assert abs(x - clicked_x) < 0.01
        assert abs(y - clicked_y) < 0.01
    console.zone = zone["name"]


class Shown(TypedDict):
    at: float
    latency: float | None


@dataclass(frozen=True)
class Watched:
    """The frames the camera page's live view showed in WATCH_S: when (performance.now(), ms),
    and the age of the stamp of each that carried one (tests/fixtures/stamp.py)."""

    shown_ms: list[float]
    latencies_ms: list[float]

    @property
    def fps(self) -> float:
        return (len(self.shown_ms) - 1) / ((self.shown_ms[-1] - self.shown_ms[0]) / 1000)


def _watch(page: Page) -> Watched:
    page.wait_for_function(PLAYS_WEBRTC, arg=None, timeout=60_000)
    frames: list[Shown] = page.locator(".live.large video").evaluate(
        f"(video, seconds) => ({WATCH_STAMPS_JS})(video, seconds)", WATCH_S
    )
    return Watched(
        [f["at"] for f in frames], [f["latency"] for f in frames if f["latency"] is not None]
    )


def test_the_camera_plays_live_over_webrtc_and_its_zone_events_arrive(
    console: Console, page: Page
) -> None:
    page.goto(f"{console.base_url}/#/cameras")
    _heading(page, "Cameras")
    tile = page.locator(f'.tile[data-camera="{CAMERA_ID}"]')
    page.wait_for_function(PLAYS_WEBRTC, arg=CAMERA_ID, timeout=60_000)
    expect(tile.locator("header .badge")).to_have_text("online")
    expect(tile.locator(".fps")).to_contain_text("fps analysed")
    screenshot(page, "cameras")

    tile.get_by_role("link", name="Street", exact=True).click()
    _heading(page, "Street")
    watched = _watch(page)
    frames = len(watched.shown_ms)
    print(f"street camera page: {frames} frames decoded in {WATCH_S:g} s over WebRTC")
    assert frames >= MIN_FRAMES
    zone_event = page.locator('.feed li[data-type="zone_enter"], .feed li[data-type="zone_exit"]')
    expect(zone_event.first).to_contain_text(console.zone, timeout=30_000)
    screenshot(page, "camera")


def test_the_events_page_receives_live_events(console: Console, page: Page) -> None:
    page.goto(f"{console.base_url}/#/events")
    _heading(page, "Events")
    page.get_by_label("Show per-frame detection and motion events").check()
    first = page.locator("#live-feed li[data-type]").first
    expect(first).to_be_visible(timeout=30_000)
    assert first.get_attribute("data-camera") == CAMERA_ID
    # Zone events may come first; the box shows per-frame ones too, each told in words.
    per_frame = page.locator(
        '#live-feed li[data-type="detection"], #live-feed li[data-type="motion"]'
    )
    expect(per_frame.first).to_contain_text(re.compile(r"detected|motion"), timeout=30_000)
    assert "undefined" not in page.locator("#live-feed").inner_text()
    screenshot(page, "events")


def _wait_live(http: httpx.Client, headers: dict[str, str], camera_id: str) -> None:
    """Until the camera has analysed frames: its page starts the live view at once then."""
    deadline = time.monotonic() + 60
    while True:
        runtime = http.get(f"/cameras/{camera_id}", headers=headers).json()["runtime"]
        if runtime["state"] == "online" and (runtime["fps_analysed"] or 0) > 0:
            return
        assert time.monotonic() < deadline, f"{camera_id} did not come online: {runtime}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def more_cameras(console: Console, rtsp_camera: RtspCamera) -> tuple[str, ...]:
    """MORE_IDS, RTSP cameras of the stamped stream, online with analysed frames like the
    street camera; the console fixture deletes them with the user's other cameras."""
    with console.api() as http:
        headers = console.bearer(http)
        for camera_id in MORE_IDS:
            body = {
                "camera_id": camera_id,
                "stream_url": rtsp_camera.url("/stamped"),
                "parameters": {"detectors": ["motion"], "detect_fps": 2},
            }
            created = http.post("/cameras", json=body, headers=headers)
            assert created.status_code == 201, created.text
        for camera_id in (CAMERA_ID, *MORE_IDS):
            _wait_live(http, headers, camera_id)
    return MORE_IDS


def test_the_stamped_camera_plays_live_at_its_rate_and_latency(
    console: Console, page: Page, rtsp_camera: RtspCamera
) -> None:
    """Capture → shown in the page, on one clock: the camera writes its capture time into each
    frame's top rows, the page reads it back from the <video> (tests/fixtures/stamp.py)."""
    body = {
        "camera_id": STAMPED_ID,
        "name": "Stamped",
        "stream_url": rtsp_camera.url("/stamped"),
        "parameters": {"detectors": ["motion"], "live_fps": LIVE_FPS},
    }
    with console.api() as http:
        headers = console.bearer(http)
        created = http.post("/cameras", json=body, headers=headers)
        assert created.status_code == 201, created.text
        try:
            _wait_live(http, headers, STAMPED_ID)
            page.goto(f"{console.base_url}/#/cameras/{STAMPED_ID}")
            _heading(page, "Stamped")
            watched = _watch(page)
            # Away from its page (which ends the session) before the camera goes.
            page.goto(f"{console.base_url}/#/settings/account")
            _heading(page, "Settings: Account")
        finally:
            http.delete(f"/cameras/{STAMPED_ID}", headers=headers)
    frames, latencies = len(watched.shown_ms), sorted(watched.latencies_ms)
    assert latencies, f"no stamp read in {frames} frames"
    p95 = latencies[round(0.95 * (len(latencies) - 1))]
    print(
        f"stamped camera in the console over WebRTC: {watched.fps:.1f} fps (live_fps "
        f"{LIVE_FPS}), stamps read on {len(latencies)}/{frames} frames, capture → shown "
        f"p50 {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms"
    )
    assert len(latencies) >= MIN_STAMPED_SHARE * frames
    assert watched.fps >= MIN_FPS_SHARE * LIVE_FPS
    assert p95 < LATENCY_P95_LIMIT_MS


# Each tile of the grid, by camera id: "webrtc" while it plays like PLAYS_WEBRTC says, "mjpeg"
# while its <img> shows a picture of the MJPEG stream, or else what its label says.
TILE_MODES = """() => Object.fromEntries([...document.querySelectorAll(".tile")].map((tile) => {
  const box = tile.querySelector(".live");
  const mode = box.querySelector(".mode").textContent;
  const video = box.querySelector("video");
  const img = box.querySelector("img");
  if (mode === "WebRTC" && video && video.srcObject instanceof MediaStream && video.videoWidth > 0)
    return [tile.dataset.camera, "webrtc"];
  if (mode === "MJPEG" && img && img.complete && img.naturalWidth > 0)
    return [tile.dataset.camera, "mjpeg"];
  return [tile.dataset.camera, mode];
}))"""


def test_a_grid_of_more_cameras_than_live_places_plays_the_rest_as_mjpeg(
    console: Console, page: Page, more_cameras: tuple[str, ...], console_watch: ConsoleWatch
) -> None:
    """Five cameras, four live view sessions a user may hold: four tiles play over WebRTC and
    the fifth plays MJPEG without offering (an offer past the cap is answered 429, which the
    browser logs as an error). Leaving the grid gives the places back: the fifth camera's page
    plays over WebRTC."""
    offers: list[str] = []

    def count_offer(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/webrtc/offer"):
            offers.append(request.url)

    with console.api() as http:
        headers = console.bearer(http)
        config = http.get("/webrtc/config", headers=headers).json()
        assert config["max_sessions_per_user"] == LIVE_PLACES, config
        page.on("request", count_offer)
        try:
            page.goto(f"{console.base_url}/#/cameras")
            _heading(page, "Cameras")
            expected = {"webrtc": LIVE_PLACES, "mjpeg": 1 + len(more_cameras) - LIVE_PLACES}
            deadline = time.monotonic() + 60
            while True:
                modes: dict[str, str] = page.evaluate(TILE_MODES)
                shown = Counter(modes.values())
                if shown == expected:
                    break
                assert time.monotonic() < deadline, modes
                page.wait_for_timeout(100)
            assert console_watch.take() == []
            assert len(offers) == LIVE_PLACES, offers
            sessions = http.get("/webrtc/sessions", headers=headers).json()
            assert sessions["count"] == LIVE_PLACES, sessions

            (fifth,) = (camera_id for camera_id, mode in modes.items() if mode == "mjpeg")
            link = page.locator(f'.tile[data-camera="{fifth}"] header a')
            name = link.inner_text()
            link.click()
            _heading(page, name)
            page.wait_for_function(PLAYS_WEBRTC, arg=None, timeout=30_000)
        finally:
            page.remove_listener("request", count_offer)
        assert len(offers) == 1 + LIVE_PLACES, offers
        sessions = http.get("/webrtc/sessions", headers=headers).json()
        assert sessions["count"] == 1, sessions
        # Away from its page, which ends the session.
        page.goto(f"{console.base_url}/#/settings/account")
        _heading(page, "Settings: Account")


def test_a_grid_left_while_its_offers_are_answered_gives_their_places_back(
    console: Console, page: Page, more_cameras: tuple[str, ...]
) -> None:
    """Four of the five tiles take every live view session a user may have (the fifth plays
    MJPEG). The grid is left for a camera's page while the tiles' offers are on their way (their
    answers held back here until then, the live service having opened a session for each): the
    tiles still take their answers and delete those sessions, and the camera's page plays over
    WebRTC (a session still held would have its offer refused, and the page fall back to MJPEG),
    with the user's only session."""
    held: list[tuple[Route, APIResponse]] = []

    def hold(route: Route) -> None:
        if len(held) < LIVE_PLACES:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    with console.api() as http:
        headers = console.bearer(http)
        page.route("**/api/v1/webrtc/offer", hold)
        try:
            page.goto(f"{console.base_url}/#/cameras")
            _heading(page, "Cameras")
            deadline = time.monotonic() + 60
            while len(held) < LIVE_PLACES:
                assert time.monotonic() < deadline, f"{len(held)} tiles offered"
                page.wait_for_timeout(50)
            page.get_by_role("link", name="Street", exact=True).click()
            _heading(page, "Street")
            for route, answer in held:
                route.fulfill(response=answer)
        finally:
            page.unroute("**/api/v1/webrtc/offer", hold)
        page.wait_for_function(PLAYS_WEBRTC, arg=None, timeout=30_000)
        sessions = http.get("/webrtc/sessions", headers=headers).json()
        assert sessions["count"] == 1, sessions
        # Away from its page, which ends the session.
        page.goto(f"{console.base_url}/#/settings/account")
        _heading(page, "Settings: Account")


def test_the_settings_pages(console: Console, page: Page) -> None:
    page.goto(f"{console.base_url}/#/settings/account")
    _heading(page, "Settings: Account")
    expect(page.get_by_text(f"Signed in as {console.email}")).to_be_visible()
    screenshot(page, "settings")

    page.get_by_role("link", name="API keys").click()
    _heading(page, "Settings: API keys")
    page.get_by_label("Name", exact=True).fill("nightly upload")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("[data-secret]")
    expect(key).to_be_visible()
    with console.api() as http:
        me = http.get("/me", headers={"X-API-Key": key.inner_text()})
    assert me.json()["email"] == console.email
    expect(page.get_by_role("button", name="Revoke nightly upload")).to_be_visible()

    page.get_by_role("link", name="Webhooks").click()
    _heading(page, "Settings: Webhooks")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/vigil")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator("[data-secret]")).to_contain_text("whsec_")
    page.get_by_text("Deliveries").click()
    expect(page.get_by_text("Nothing delivered yet.")).to_be_visible()

    page.get_by_role("link", name="Watchlist").click()
    _heading(page, "Settings: Watchlist")
    page.get_by_label("Plate or pattern").fill("ka-22 p 3368")
    page.get_by_role("button", name="Add to watchlist").click()
    expect(page.locator("main table")).to_contain_text("KA22P3368")


def test_sign_out_ends_the_session(console: Console, page: Page) -> None:
    cookie = _refresh_cookie(page)
    assert cookie is not None
    page.get_by_role("button", name="Sign out").click()
    _heading(page, "Sign in")
    assert _refresh_cookie(page) is None
    # The cookie the browser held before is over on the server too.
    with console.api() as http:
        refused = http.post(
            "/auth/browser/refresh",
            headers={**CONSOLE_HEADER, "Cookie": f"vigil_refresh={cookie['value']}"},
        )
    assert refused.status_code == 401
    page.reload()
    _heading(page, "Sign in")
    expect(page.locator("#nav")).to_be_hidden()
