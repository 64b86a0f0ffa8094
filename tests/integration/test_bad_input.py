"""Each bad input gets its documented 4xx and leaves no job row and no file behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import db_fetch, signup_and_signin, uploads
from tests.media import BUS, PEDESTRIANS, jpeg_garbage

MB = 1024 * 1024


@pytest.fixture
def user(client: httpx.Client) -> Iterator[dict[str, str]]:
    """A fresh user; afterwards, the test must have left no job and no upload behind."""
    before = uploads()
    headers = signup_and_signin(client)
    yield headers
    me = client.get("/me", headers=headers).json()
    assert not db_fetch("SELECT 1 FROM jobs WHERE owner_id = $1::uuid", me["id"])
    assert uploads() <= before


def _post(
    client: httpx.Client,
    path: str,
    headers: dict[str, str],
    content: bytes,
    name: str = "f",
    **data: Any,
) -> httpx.Response:
    return client.post(path, files={"file": (name, content)}, data=data, headers=headers)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code
    assert body["detail"]
    return body


def test_upload_requires_authentication(client: httpx.Client, user: dict[str, str]) -> None:
    _error(_post(client, "/process/image", {}, BUS.read_bytes()), 401, "not_authenticated")
    bad = {"Authorization": "Bearer not-a-token"}
    _error(_post(client, "/process/video", bad, PEDESTRIANS.read_bytes()), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("path", "content", "name"),
    [
        ("/process/image", b"just some text, not an image", "photo.jpg"),
        ("/process/image", b"%PDF-1.7\n" + b"0" * 200, "scan.pdf"),
        ("/process/image", b"GIF89a" + b"\x00" * 100, "anim.gif"),
        ("/process/video", b"\x1aE\xdf\xa3" + b"\x00" * 200, "clip.mkv"),
        ("/process/video", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "clip.mp4"),
    ],
)
def test_wrong_type_is_415(
    client: httpx.Client, user: dict[str, str], path: str, content: bytes, name: str
) -> None:
    _error(_post(client, path, user, content, name), 415, "unsupported_media_type")


def test_video_sent_to_image_endpoint_is_415(client: httpx.Client, user: dict[str, str]) -> None:
    body = _error(
        _post(client, "/process/image", user, PEDESTRIANS.read_bytes()),
        415,
        "unsupported_media_type",
    )
    assert "AVI" in body["detail"]


def test_not_multipart_is_415(client: httpx.Client, user: dict[str, str]) -> None:
    response = client.post("/process/image", json={"file": "x"}, headers=user)
    _error(response, 415, "unsupported_media_type")


def test_oversize_image_is_413(client: httpx.Client, user: dict[str, str]) -> None:
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * MB)
    body = _error(_post(client, "/process/image", user, big), 413, "payload_too_large")
    assert body["limit_bytes"] == 10 * MB


def test_oversize_is_caught_while_streaming_without_content_length(
    client: httpx.Client, user: dict[str, str]
) -> None:
    boundary = "vigilboundary"

    def chunks() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        yield b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        for _ in range(60):
            yield b"\x00" * MB
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/process/video",
        content=chunks(),
        headers=user | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _error(response, 413, "payload_too_large")


def test_oversize_video_with_declared_length_is_refused_upfront(
    client: httpx.Client, user: dict[str, str]
) -> None:
    big = b"\x00\x00\x00\x18ftypisom" + b"\x00" * (51 * MB)
    _error(_post(client, "/process/video", user, big, "big.mp4"), 413, "payload_too_large")


def test_undecodable_image_is_422(client: httpx.Client, user: dict[str, str]) -> None:
    body = _error(_post(client, "/process/image", user, jpeg_garbage()), 422, "unprocessable")
    assert "could not decode image" in body["detail"]


def test_truncated_image_is_422(client: httpx.Client, user: dict[str, str]) -> None:
    half = BUS.read_bytes()[: BUS.stat().st_size // 2]
    _error(_post(client, "/process/image", user, half), 422, "unprocessable")


def test_truncated_video_is_422(client: httpx.Client, user: dict[str, str]) -> None:
    head = PEDESTRIANS.read_bytes()[: 200 * 1024]
    body = _error(_post(client, "/process/video", user, head, "cut.avi"), 422, "unprocessable")
    assert "could not decode video" in body["detail"]


def test_empty_and_missing_file_are_422(client: httpx.Client, user: dict[str, str]) -> None:
    _error(_post(client, "/process/image", user, b""), 422, "unprocessable")
    missing = client.post(
        "/process/image", data={"params": "{}"}, files={"other": ("x", b"y")}, headers=user
    )
    _error(missing, 422, "unprocessable")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"confidence_threshold": 0.95}, "params.confidence_threshold"),
        ({"confidence_threshold": 0.05}, "params.confidence_threshold"),
        ({"classes": ["person", "unicorn"]}, "params.classes"),
        ({"frame_skip": 0}, "params.frame_skip"),
        ({"max_frames": -1}, "params.max_frames"),
        ({"min_box_size": "big"}, "params.min_box_size"),
        ({"colour": "red"}, "params.colour"),
    ],
)
def test_invalid_params_are_422_naming_the_field(
    client: httpx.Client, user: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = _post(client, "/process/image", user, BUS.read_bytes(), params=json.dumps(params))
    body = _error(response, 422, "unprocessable")
    assert body["fields"][0]["field"] == field
    assert field in body["detail"]


def test_malformed_params_json_is_422(client: httpx.Client, user: dict[str, str]) -> None:
    for raw in ("{not json", "[1, 2]"):
        body = _error(
            _post(client, "/process/video", user, PEDESTRIANS.read_bytes(), params=raw),
            422,
            "unprocessable",
        )
        assert body["fields"][0]["field"] == "params"
