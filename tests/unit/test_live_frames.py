"""What the live view service sends: camera JPEGs decoded once for every session, the newest of
them only, and the placeholder while the camera sends none."""

from __future__ import annotations

import asyncio
import io
import time

import numpy as np
import redis.asyncio as aioredis
from av.video.frame import PictureType, VideoFrame
from PIL import Image

from live.feeds import VIDEO_TIME_BASE, CameraFeed, JpegDecoder, LiveFrame
from live.placeholder import BACKGROUND, even_size, offline_text, render
from live.track import CameraTrack


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_jpeg_is_decoded_to_what_encoders_take() -> None:
    frame = JpegDecoder().decode(jpeg((255, 255, 255)))
    assert frame is not None
    assert (frame.width, frame.height, frame.format.name) == (64, 48, "yuv420p")
    # Video range (white is 235), and no picture type: an I would force a keyframe each time.
    assert int(np.median(frame.to_ndarray()[:48])) == 235
    assert frame.pict_type == PictureType.NONE


def test_a_broken_jpeg_is_skipped() -> None:
    assert JpegDecoder().decode(b"\xff\xd8 not a picture") is None


def test_offline_text_says_since_when_in_utc() -> None:
    assert offline_text("2026-11-29T13:29:12.345Z") == "offline since 13:29:12 UTC"
    assert offline_text("2026-11-29T14:29:12.345+01:00") == "offline since 13:29:12 UTC"
    assert offline_text(None) == "no picture yet"
    assert offline_text("yesterday") == "offline"


def test_the_placeholder_has_the_cameras_size_and_its_words() -> None:
    image = render("offline since 13:29:12 UTC", "Gate north", (641, 361))
    assert image.size == even_size(641, 361) == (640, 360)
    pixels = np.asarray(image)
    background = np.all(pixels == BACKGROUND, axis=2)
    # Mostly background, with text in it.
    assert 0.8 < background.mean() < 1.0
    assert render("offline since 13:29:12 UTC", None).size == (640, 360)


def _track(latest: LiveFrame | None, last_frame_at: str | None = None) -> CameraTrack:
    feed = CameraFeed(aioredis.Redis(), "camera")
    feed.latest = latest
    return CameraTrack(feed, fps=15, title="Gate north", last_frame_at=last_frame_at)


def _frame() -> VideoFrame:
    decoded = JpegDecoder().decode(jpeg((10, 200, 30)))
    assert decoded is not None
    return decoded


def test_a_track_sends_the_newest_frame_then_the_placeholder_once_it_is_stale() -> None:
    async def scenario() -> None:
        fresh = LiveFrame(1, _frame(), "2026-11-29T13:29:12.345Z", time.monotonic())
        track = _track(fresh)
        sent = await track.recv()
        assert np.array_equal(sent.to_ndarray(), fresh.frame.to_ndarray())
        # A newer frame, but written long ago: the placeholder, with the camera's size.
        track.feed.latest = LiveFrame(2, fresh.frame, fresh.captured_at, time.monotonic() - 60)
        placeholder = await track.recv()
        assert track.offline_since(track.feed.latest) == fresh.captured_at
        assert not np.array_equal(placeholder.to_ndarray(), fresh.frame.to_ndarray())
        assert (placeholder.width, placeholder.height) == (64, 48)
        assert (track.frames_sent, track.placeholders_sent) == (2, 1)

    asyncio.run(scenario())


def test_a_frame_older_than_the_staleness_bound_is_never_sent() -> None:
    async def scenario() -> None:
        old = LiveFrame(1, _frame(), None, time.monotonic() - 60)
        track = _track(old)
        sent = await track.recv()
        assert sent is not old.frame
        assert track.placeholders_sent == 1

    asyncio.run(scenario())


def test_each_session_encodes_its_own_copy_of_the_shared_frame() -> None:
    """aiortc's VP8 encoder marks the frame it encodes as an I picture when its viewer asks for
    a keyframe: on the camera's shared frame, every other session would send one too."""

    async def scenario() -> None:
        frame = _frame()
        frame.pts, frame.time_base = 90_000, VIDEO_TIME_BASE
        shared = LiveFrame(1, frame, None, time.monotonic())
        one, two = _track(shared), _track(shared)
        first = await one.recv()
        first.pict_type = PictureType.I  # what the encoder does on a keyframe request
        second = await two.recv()
        assert shared.frame.pict_type == PictureType.NONE
        assert second.pict_type == PictureType.NONE
        assert np.array_equal(second.to_ndarray(), shared.frame.to_ndarray())
        assert (second.pts, second.time_base) == (shared.frame.pts, shared.frame.time_base)

    asyncio.run(scenario())


def test_offline_since_falls_back_to_the_cameras_last_frame_time() -> None:
    """A camera offline for longer than its frame lasts in Redis: no frame here, but the API
    passed along when the camera last had one."""
    assert _track(None, "2026-11-29T13:29:12.345Z").offline_since(None) == (
        "2026-11-29T13:29:12.345Z"
    )
    assert _track(None).offline_since(None) is None
    seen = LiveFrame(1, _frame(), "2026-11-29T14:00:00.000Z", time.monotonic())
    assert _track(seen, "2026-11-29T13:29:12.345Z").offline_since(seen) == seen.captured_at
