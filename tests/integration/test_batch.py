"""Batch upload: one job per good file, each bad file refused on its own, and a bad request
as a whole refused with nothing stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import get_settings
from tests.hostile_media import huge_h264_mp4
from tests.integration.conftest import db_fetch, signup_and_signin, uploads, wait_for
from tests.integration.test_bad_input import (
    CLOSING,
    MULTIPART,
    decompression_bomb_png,
    file_part,
)
from tests.media import BUS, PEDESTRIANS, PLATE_PNG, jpeg_garbage

Files = list[tuple[str, tuple[str, bytes]]]


def _batch(
    client: httpx.Client, headers: dict[str, str], files: Files, **data: str
) -> httpx.Response:
    return client.post("/process/batch", files=files, data=data, headers=headers)


def test_batch_runs_the_good_files_and_reports_the_bad_ones(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    before = uploads()
    image_limit = get_settings().max_image_bytes
    # Over the image limit but far under the video one: the limit follows the sniffed kind.
    oversize_jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * image_limit
    files: Files = [
        ("files", ("bus.jpg", BUS.read_bytes())),
        ("files", ("notes.jpg", b"just some text, not an image")),
        ("files", ("plate.png", PLATE_PNG.read_bytes())),
        ("files", ("huge.jpg", oversize_jpeg)),
        ("files", ("walk.avi", PEDESTRIANS.read_bytes())),
        ("files", ("broken.jpg", jpeg_garbage())),
        ("files", ("empty.png", b"")),
    ]
    response = _batch(client, auth, files, params=json.dumps({"max_frames": 4}))
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 4)
    items = body["jobs"]
    assert [item["index"] for item in items] == list(range(7))
    assert [item["filename"] for item in items] == [name for _, (name, _) in files]
    accepted = [items[0], items[2], items[4]]
    assert [item["kind"] for item in accepted] == ["image", "image", "video"]
    for item in accepted:
        assert item["status"] == "queued"
        assert item["status_url"] == f"/api/v1/jobs/{item['job_id']}/status"
        assert item["results_url"] == f"/api/v1/jobs/{item['job_id']}/results"
    assert {i: items[i]["error"] for i in (1, 3, 5, 6)} == {
        1: "unsupported_media_type",
        3: "payload_too_large",
        5: "unprocessable",
        6: "unprocessable",
    }
    assert "could not decode image" in items[5]["detail"]
    assert "empty" in items[6]["detail"]
    assert f"{image_limit // (1024 * 1024)} MB" in items[3]["detail"]
    # Only the accepted files were kept, and only until their jobs ran.
    assert len(uploads() - before) <= 3

    for item in accepted:
        assert wait_for(client, item["job_id"], auth)["status"] == "completed"
    video = client.get(f"/jobs/{items[4]['job_id']}/results", headers=auth).json()
    assert video["params"]["max_frames"] == 4
    assert video["summary"]["frames_analyzed"] == 4
    bus = client.get(f"/jobs/{items[0]['job_id']}/results", headers=auth).json()
    assert bus["summary"]["people_count"] >= 3
    assert client.get("/jobs", headers=auth).json()["total"] == 3
    assert not uploads() - before


def test_too_many_files_refuse_the_batch(client: httpx.Client, user: dict[str, str]) -> None:
    limit = get_settings().max_batch_files
    files: Files = [("files", (f"bus{i}.jpg", BUS.read_bytes())) for i in range(limit + 1)]
    response = _batch(client, user, files)
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "payload_too_large"
    assert body["max_files"] == limit
    assert f"at most {limit} files" in body["detail"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{not json", "params"),
        ("[1, 2]", "params"),
        (json.dumps({"confidence_threshold": 0.95}), "params.confidence_threshold"),
        (json.dumps({"colour": "red"}), "params.colour"),
    ],
)
def test_bad_params_refuse_the_batch(
    client: httpx.Client, user: dict[str, str], raw: str, field: str
) -> None:
    files: Files = [
        ("files", ("bus.jpg", BUS.read_bytes())),
        ("files", ("walk.avi", PEDESTRIANS.read_bytes())),
    ]
    response = _batch(client, user, files, params=raw)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "unprocessable"
    assert body["fields"][0]["field"] == field


def test_no_valid_file_is_422_with_each_reason(client: httpx.Client, user: dict[str, str]) -> None:
    files: Files = [
        ("files", ("notes.jpg", b"just some text, not an image")),
        ("files", ("broken.jpg", jpeg_garbage())),
    ]
    response = _batch(client, user, files)
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "no_valid_files"
    assert body["detail"]
    assert [(item["index"], item["filename"], item["error"]) for item in body["jobs"]] == [
        (0, "notes.jpg", "unsupported_media_type"),
        (1, "broken.jpg", "unprocessable"),
    ]


def test_a_batch_needs_files_parts(client: httpx.Client, user: dict[str, str]) -> None:
    no_files = client.post("/process/batch", files={"params": (None, "{}")}, headers=user)
    assert no_files.status_code == 422, no_files.text
    assert "`files` parts" in no_files.json()["detail"]
    other = client.post("/process/batch", files={"other": ("x.jpg", b"y")}, headers=user)
    assert other.status_code == 422, other.text
    assert "'other'" in other.json()["detail"]
    singular = _batch(client, user, [("file", ("bus.jpg", BUS.read_bytes()))])
    assert singular.status_code == 422, singular.text
    assert "`files`" in singular.json()["detail"]
    not_multipart = client.post("/process/batch", json={"files": []}, headers=user)
    assert not_multipart.status_code == 415
    anonymous = _batch(client, {}, [("files", ("bus.jpg", BUS.read_bytes()))])
    assert anonymous.status_code == 401


def test_callback_url_applies_to_every_job_of_the_batch(client: httpx.Client) -> None:
    headers = signup_and_signin(client)
    files: Files = [("files", (f"bus{i}.jpg", BUS.read_bytes())) for i in range(2)]
    hook = "http://127.0.0.1:9/vigil-hook"
    before = uploads()
    refused = _batch(client, headers, files, callback_url=hook)
    assert refused.status_code == 422, refused.text
    assert "callback-secret" in refused.json()["detail"]
    assert client.get("/jobs", headers=headers).json()["total"] == 0
    assert uploads() <= before

    assert client.post("/webhooks/callback-secret", headers=headers).status_code == 201
    accepted = _batch(client, headers, files, callback_url=hook)
    assert accepted.status_code == 202, accepted.text
    ids = [uuid.UUID(item["job_id"]) for item in accepted.json()["jobs"]]
    rows = db_fetch("SELECT callback_url FROM jobs WHERE id = ANY($1::uuid[])", ids)
    assert [row["callback_url"] for row in rows] == [hook, hook]


def test_an_image_claiming_too_many_pixels_fails_alone(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    files: Files = [
        ("files", ("bomb.png", decompression_bomb_png())),
        ("files", ("bus.jpg", BUS.read_bytes())),
    ]
    response = _batch(client, auth, files)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    bomb, bus = body["jobs"]
    assert bomb["error"] == "unprocessable"
    assert "VIGIL_MAX_IMAGE_PIXELS" in bomb["detail"]
    assert wait_for(client, bus["job_id"], auth)["status"] == "completed"


def test_control_characters_are_dropped_from_file_names(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    # Postgres refuses NUL in the job's media record: kept, it would fail the whole batch.
    body = (
        file_part("files", b"bus\x00.jpg", BUS.read_bytes())
        + file_part("files", b"\x1b[31mplate\x07.png", PLATE_PNG.read_bytes())
        + file_part("files", b"\x00", BUS.read_bytes())
        + CLOSING
    )
    response = client.post("/process/batch", content=body, headers=auth | MULTIPART)
    assert response.status_code == 202, response.text
    items = response.json()["jobs"]
    assert [item["filename"] for item in items] == ["bus.jpg", "[31mplate.png", None]
    listed = {
        job["job_id"]: job["filename"] for job in client.get("/jobs", headers=auth).json()["items"]
    }
    assert [listed[item["job_id"]] for item in items] == ["bus.jpg", "[31mplate.png", None]


def test_format_characters_are_dropped_from_file_names(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-21: a right-to-left override shows "invoice\u202egpj.exe" as "invoiceexe.jpg", and
    zero-width characters make two names look alike; neither reaches the job's record."""
    body = (
        file_part("files", "invoice\u202egpj.exe.jpg".encode(), BUS.read_bytes())
        + file_part("files", "bu\u200bs\ufeff.jpg".encode(), BUS.read_bytes())
        + file_part("files", "caf\u00e9 \u2028plate.png".encode(), PLATE_PNG.read_bytes())
        + CLOSING
    )
    response = client.post("/process/batch", content=body, headers=auth | MULTIPART)
    assert response.status_code == 202, response.text
    expected = ["invoicegpj.exe.jpg", "bus.jpg", "caf\u00e9 plate.png"]
    items = response.json()["jobs"]
    assert [item["filename"] for item in items] == expected
    rows = db_fetch(
        "SELECT media->>'filename' AS name FROM jobs WHERE id = ANY($1::uuid[])",
        [uuid.UUID(item["job_id"]) for item in items],
    )
    assert sorted(row["name"] for row in rows) == sorted(expected)


def test_deeply_nested_params_refuse_the_batch(client: httpx.Client, user: dict[str, str]) -> None:
    """F-13, on the batch route."""
    deep = '{"zones": ' + "[" * 20_000 + "]" * 20_000 + "}"
    response = _batch(client, user, [("files", ("bus.jpg", BUS.read_bytes()))], params=deep)
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "params"


def test_a_video_of_huge_frames_fails_alone(
    client: httpx.Client, auth: dict[str, str], tmp_path: Path
) -> None:
    """F-06, in a batch: the 8000x8000 video is refused, the image goes on."""
    files: Files = [
        ("files", ("big.mp4", huge_h264_mp4(tmp_path / "big.mp4"))),
        ("files", ("bus.jpg", BUS.read_bytes())),
    ]
    response = _batch(client, auth, files)
    assert response.status_code == 202, response.text
    big, bus = response.json()["jobs"]
    assert big["error"] == "unprocessable"
    assert "VIGIL_MAX_VIDEO_PIXELS" in big["detail"]
    assert wait_for(client, bus["job_id"], auth)["status"] == "completed"
