"""Each bad input gets its documented 4xx and leaves no job row and no file behind."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.deps import MAX_PAGE
from api.jobs.upload import MAX_FIELDS
from tests.hostile_media import ffmpeg_clip, huge_h264_mp4
from tests.media import BUS, PEDESTRIANS, jpeg_garbage

MB = 1024 * 1024
BOUNDARY = "vigilboundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def decompression_bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG of about 100 bytes whose header claims width x height pixels: 400 million by
    default, past Pillow's decompression-bomb ceiling."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def file_part(field: str, filename: bytes, content: bytes) -> bytes:
    """One multipart file part written by hand: httpx would percent-escape control characters
    in the file name."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
    )


CLOSING = f"--{BOUNDARY}--\r\n".encode()


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
    def chunks() -> Iterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        yield b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        for _ in range(60):
            yield b"\x00" * MB
        yield f"\r\n{CLOSING.decode()}".encode()

    response = client.post("/process/video", content=chunks(), headers=user | MULTIPART)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _error(response, 413, "payload_too_large")


def test_bytes_after_the_closing_boundary_count_towards_the_limit(
    client: httpx.Client, user: dict[str, str]
) -> None:
    """The parser skips an epilogue; without Content-Length it could stream on for ever, but
    the route's body limit (the upload limit plus the form around it) stops it."""

    def chunks() -> Iterator[bytes]:
        yield file_part("file", b"bus.jpg", BUS.read_bytes()) + CLOSING
        for _ in range(11):
            yield b"x" * MB

    response = client.post("/process/image", content=chunks(), headers=user | MULTIPART)
    body = _error(response, 413, "payload_too_large")
    assert 10 * MB < body["max_bytes"] < 11 * MB


@pytest.mark.parametrize("path", ["/process/image", "/process/batch"])
def test_too_many_form_fields_are_413(
    client: httpx.Client, user: dict[str, str], path: str
) -> None:
    fields = {f"note{i}": "x" for i in range(MAX_FIELDS + 1)}
    field = "file" if path == "/process/image" else "files"
    response = client.post(
        path, files={field: ("bus.jpg", BUS.read_bytes())}, data=fields, headers=user
    )
    body = _error(response, 413, "payload_too_large")
    assert body["max_fields"] == MAX_FIELDS


def test_oversize_video_with_declared_length_is_refused_upfront(
    client: httpx.Client, user: dict[str, str]
) -> None:
    big = b"\x00\x00\x00\x18ftypisom" + b"\x00" * (51 * MB)
    _error(_post(client, "/process/video", user, big, "big.mp4"), 413, "payload_too_large")


def test_image_whose_header_claims_too_many_pixels_is_422(
    client: httpx.Client, user: dict[str, str]
) -> None:
    bomb = decompression_bomb_png()
    assert len(bomb) < 200
    body = _error(_post(client, "/process/image", user, bomb, "bomb.png"), 422, "unprocessable")
    assert "VIGIL_MAX_IMAGE_PIXELS" in body["detail"]


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


def test_video_of_huge_frames_is_422_at_upload(
    client: httpx.Client, user: dict[str, str], tmp_path: Path
) -> None:
    """F-06: a 190 KB MP4 of three 8000x8000 frames was accepted and decoded (+1 GB in the
    worker); its boxes give it away, so it is refused before any job exists."""
    video = huge_h264_mp4(tmp_path / "big.mp4")
    response = _post(
        client, "/process/video", user, video, "big.mp4", params=json.dumps({"max_frames": 3})
    )
    body = _error(response, 422, "unprocessable")
    assert "8000x8000" in body["detail"]
    assert "VIGIL_MAX_VIDEO_PIXELS" in body["detail"]


@pytest.mark.parametrize(
    ("name", "codec"), [("clip.avi", "ffv1"), ("clip.mov", "prores_ks"), ("clip.avi", "png")]
)
def test_video_codec_off_the_allow_list_is_422_at_upload(
    client: httpx.Client, user: dict[str, str], tmp_path: Path, name: str, codec: str
) -> None:
    video = ffmpeg_clip(tmp_path / name, "64x64", 2, codec)
    body = _error(_post(client, "/process/video", user, video, name), 422, "unprocessable")
    assert "VIGIL_VIDEO_CODECS" in body["detail"]


def test_deeply_nested_params_are_422(client: httpx.Client, user: dict[str, str]) -> None:
    """F-13: 20,000 nested arrays made json.loads raise RecursionError: a 500."""
    deep = '{"zones": ' + "[" * 20_000 + "]" * 20_000 + "}"
    for route, media in (("/process/image", BUS), ("/process/video", PEDESTRIANS)):
        response = _post(client, route, user, media.read_bytes(), params=deep)
        body = _error(response, 422, "unprocessable")
        assert body["fields"] == [{"field": "params", "message": "nests deeper than 32 levels"}]


def test_brackets_inside_params_strings_are_not_nesting(
    client: httpx.Client, user: dict[str, str]
) -> None:
    raw = json.dumps({"colour": "[" * 100 + '\\"{' * 100})
    body = _error(
        _post(client, "/process/image", user, BUS.read_bytes(), params=raw), 422, "unprocessable"
    )
    assert body["fields"][0]["field"] == "params.colour"


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


ZONE = {"name": "gate", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"params": json.dumps({"zones": [ZONE | {"name": "gate\u0000"}]})}, "params.zones.0.name"),
        ({"callback_url": "http://127.0.0.1:9/hook\x00"}, "callback_url"),
    ],
)
def test_nul_in_a_form_field_is_422(
    client: httpx.Client, user: dict[str, str], fields: dict[str, str], field: str
) -> None:
    # Postgres refuses NUL in text and jsonb: it would fail the INSERT of the job.
    assert client.post("/webhooks/callback-secret", headers=user).status_code == 201
    response = _post(client, "/process/image", user, BUS.read_bytes(), **fields)
    body = _error(response, 422, "unprocessable")
    assert [item["field"] for item in body["fields"]] == [field]
    assert "NUL" in body["detail"]


HOOK = {"url": "http://127.0.0.1:9/hook", "event_types": ["job.completed"]}


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/api-keys", {"name": "ci\u0000"}, "name"),
        ("PATCH", "/me", {"full_name": "Ada\u0000"}, "full_name"),
        ("POST", "/watchlist", {"plate": "AB12\u0000CD"}, "plate"),
        ("POST", "/watchlist", {"plate": "AB12CD", "label": "stolen\u0000"}, "label"),
        ("POST", "/webhooks", HOOK | {"url": "http://127.0.0.1:9/\u0000"}, "url"),
        ("POST", "/webhooks", HOOK | {"description": "ops\u0000"}, "description"),
    ],
)
def test_nul_in_json_text_is_422_naming_the_field(
    client: httpx.Client,
    user: dict[str, str],
    method: str,
    path: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    response = client.request(method, path, json=payload, headers=user)
    body = _error(response, 422, "validation_error")
    assert [item["field"] for item in body["fields"]] == [field]
    assert "NUL" in body["detail"]
    assert client.get("/me", headers=user).json()["full_name"] is None
    assert client.get("/api-keys", headers=user).json()["total"] == 0
    assert client.get("/watchlist", headers=user).json() == []
    assert client.get("/webhooks", headers=user).json()["total"] == 0


def test_page_numbers_are_bounded(client: httpx.Client, user: dict[str, str]) -> None:
    # Past the bound, page x page_size would overflow Postgres' bigint OFFSET.
    for path in ("/jobs", "/me/audit-events"):
        too_far = client.get(path, params={"page": 10**18}, headers=user)
        assert _error(too_far, 422, "validation_error")["fields"][0]["field"] == "query.page"
        last = client.get(path, params={"page": MAX_PAGE}, headers=user)
        assert last.status_code == 200, last.text
        assert last.json()["items"] == []


def test_deeply_nested_json_bodies_are_400(client: httpx.Client) -> None:
    """JSON nested past what the parser recurses into is refused as unparsable, not a 500."""
    body = '{"refresh_token": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(
        "/auth/token-refresh", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
