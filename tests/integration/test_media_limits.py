"""Videos beyond the limits that the API cannot see from the container are refused by the
worker's probe, before a single frame is decoded (F-06)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from shared.ops.localstack import LocalStack
from tests.hostile_media import disguise_mp4_size, ffmpeg_clip, huge_h264_mp4
from tests.integration.conftest import db_fetch, wait_for

MB = 1024 * 1024


def _peak_rss(stack: LocalStack) -> int:
    """The highest peak resident size (bytes) among the worker's pool processes."""
    parent = stack.processes["worker"].pid
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024)
    assert peaks, "no worker pool process"
    return max(peaks)


def _submit(client: httpx.Client, headers: dict[str, str], name: str, video: bytes) -> str:
    response = client.post(
        "/process/video",
        files={"file": (name, video)},
        data={"params": json.dumps({"max_frames": 3})},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def _failed_without_decoding(
    client: httpx.Client, headers: dict[str, str], job_id: str
) -> dict[str, object]:
    status = wait_for(client, job_id, headers)
    assert status["status"] == "failed", status
    # Refused for good: not retried, no frame analysed.
    assert (status["attempts"], status["frames_processed"]) == (1, 0)
    (row,) = db_fetch("SELECT attempts FROM jobs WHERE id = $1::uuid", job_id)
    assert row["attempts"] == 1
    return status


def test_frames_larger_than_the_container_says_fail_before_decoding(
    client: httpx.Client, auth: dict[str, str], stack: LocalStack, tmp_path: Path
) -> None:
    """Boxes claiming 640x360 hide 8000x8000 frames from the API. Decoding three of them
    took the worker from 1.08 to 2.08 GB; now ffprobe reads the stream's own size first."""
    video = disguise_mp4_size(huge_h264_mp4(tmp_path / "big.mp4"), 640, 360)
    before = _peak_rss(stack)
    status = _failed_without_decoding(client, auth, _submit(client, auth, "lie.mp4", video))
    assert "8000x8000" in str(status["error"])
    assert "VIGIL_MAX_VIDEO_PIXELS" in str(status["error"])
    assert _peak_rss(stack) - before < 300 * MB


def test_codec_hidden_behind_an_allowed_tag_fails_before_decoding(
    client: httpx.Client, auth: dict[str, str], tmp_path: Path
) -> None:
    """MPEG-2 video in an MP4 wears the same `mp4v` sample entry as MPEG-4 Part 2."""
    video = ffmpeg_clip(tmp_path / "mpeg2.mp4", "320x240", 3, "mpeg2video")
    status = _failed_without_decoding(client, auth, _submit(client, auth, "mpeg2.mp4", video))
    assert "(mpeg2video)" in str(status["error"])
    assert "VIGIL_VIDEO_CODECS" in str(status["error"])
