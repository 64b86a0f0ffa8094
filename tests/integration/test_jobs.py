"""The whole flow, end to end: upload → Celery worker → Postgres → status and results."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from tests.integration.conftest import (
    db_fetch,
    signup_and_signin,
    uploads,
    wait_for,
    wait_for_first_frames,
)
from tests.media import BUS, PEDESTRIANS, mp4_without_video


def _submit_video(
    client: httpx.Client,
    headers: dict[str, str],
    params: dict[str, Any],
    path: str = "/process/video",
) -> dict[str, Any]:
    with PEDESTRIANS.open("rb") as handle:
        response = client.post(
            path,
            files={"file": (PEDESTRIANS.name, handle, "video/x-msvideo")},
            data={"params": json.dumps(params)},
            headers=headers,
        )
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_video_end_to_end_counts_people(client: httpx.Client, auth: dict[str, str]) -> None:
    accepted = _submit_video(client, auth, {"max_frames": 24, "confidence_threshold": 0.3})
    assert accepted["status"] == "queued"
    assert accepted["status_url"] == f"/api/v1/jobs/{accepted['job_id']}/status"

    status = wait_for(client, accepted["job_id"], auth)
    assert status["status"] == "completed", status
    assert status["progress"] == 100.0
    assert status["frames_processed"] == status["frames_total"] == 24
    assert status["processing_speed"] > 0
    assert status["attempts"] == 1

    results = client.get(accepted["results_url"].removeprefix("/api/v1"), headers=auth).json()
    summary = results["summary"]
    # The plaza holds a couple of dozen people in every frame.
    assert summary["max_people_per_frame"] >= 10
    assert summary["mean_people_per_frame"] >= 5
    assert summary["dominant_object"] == "person"
    assert summary["class_counts"]["person"] >= 24 * 5
    assert summary["frames_analyzed"] == 24
    assert 0 <= summary["peak_activity_frame"] < 24
    assert [row["second"] for row in summary["activity_timeline"]] == [0]
    # The header claims 682 frames at 50 fps; only 341 exist, at 25 fps.
    assert results["media"]["frame_count"] == 341
    assert results["media"]["header_frame_count"] == 682
    assert results["media"]["fps"] == 25.0
    assert results["params"]["confidence_threshold"] == 0.3
    assert results["model"]["name"] == "yolov8n_int8_openvino_model"
    assert len(results["model"]["sha256"]) == 64

    frames = results["frames"]
    assert results["pagination"] == {"page": 1, "page_size": 100, "total_frames": 24, "pages": 1}
    assert [f["frame_index"] for f in frames] == list(range(24))
    person = next(d for d in frames[0]["detections"] if d["label"] == "person")
    assert person["type"] == "person"
    assert person["confidence"] >= 0.3
    x1, y1, x2, y2 = person["bbox"]
    assert 0 <= x1 < x2 <= 1280
    assert 0 <= y1 < y2 <= 720
    assert abs(person["bbox_normalized"][2] - x2 / 1280) < 1e-3
    # Media is deleted once processed; results stay.
    assert not uploads()
    (row,) = db_fetch("SELECT media_path FROM jobs WHERE id = $1", uuid.UUID(accepted["job_id"]))
    assert row["media_path"] is None


def test_frames_are_paginated_and_frame_skip_applies(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = _submit_video(
        client, auth, {"max_frames": 12, "frame_skip": 5, "classes": ["person"]}
    )
    assert wait_for(client, accepted["job_id"], auth)["status"] == "completed"
    url = f"/jobs/{accepted['job_id']}/results"
    page2 = client.get(url, params={"page": 2, "page_size": 5}, headers=auth).json()
    assert page2["pagination"] == {"page": 2, "page_size": 5, "total_frames": 12, "pages": 3}
    assert [f["frame_index"] for f in page2["frames"]] == [25, 30, 35, 40, 45]
    assert page2["frames"][0]["timestamp"] == 1.0
    labels = {d["label"] for f in page2["frames"] for d in f["detections"]}
    assert labels == {"person"}
    rows = db_fetch(
        "SELECT count(*) AS n FROM job_frames WHERE job_id = $1", uuid.UUID(accepted["job_id"])
    )
    assert rows[0]["n"] == 12
    assert client.get(url, params={"page_size": 0}, headers=auth).status_code == 422


def test_progress_is_reported_while_a_video_runs(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = _submit_video(client, auth, {"max_frames": 120})
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{accepted['job_id']}/status", headers=auth).json()
        if status["status"] == "processing" and status["frames_processed"] > 0:
            seen.append(status)
        if status["status"] == "completed":
            break
        time.sleep(0.2)
    assert seen, "never saw the job in progress"
    mid = seen[0]
    assert 0 < mid["progress"] < 100
    assert mid["frames_total"] == 120
    assert mid["processing_speed"] > 0
    assert mid["estimated_completion"] is not None
    assert mid["started_at"] is not None
    # Frames written so far are already stored (results are flushed in batches).
    assert status["status"] == "completed"


def test_compatibility_routes(client: httpx.Client, auth: dict[str, str]) -> None:
    accepted = _submit_video(
        client, auth, {"max_frames": 3}, path="/tasks/video-objects-detection/"
    )
    wait_for(client, accepted["job_id"], auth)
    result = client.get(f"/tasks/video-analysis-result/{accepted['job_id']}/", headers=auth)
    assert result.status_code == 200
    assert result.json()["summary"]["frames_analyzed"] == 3


def test_image_answers_with_detections(client: httpx.Client, auth: dict[str, str]) -> None:
    with BUS.open("rb") as handle:
        response = client.post("/process/image", files={"file": ("bus.jpg", handle)}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["processing_time"] > 0
    assert body["summary"]["people_count"] >= 3
    assert body["summary"]["vehicles_count"] >= 1
    assert body["summary"]["dominant_object"] == "person"
    assert body["metadata"]["image_dimensions"] == "810x1080"
    assert body["metadata"]["model_version"].startswith("yolov8n_int8_openvino_model@")
    bus = next(d for d in body["detections"] if d["label"] == "bus")
    assert bus["type"] == "vehicle"
    status = client.get(f"/jobs/{body['job_id']}/status", headers=auth).json()
    assert status["status"] == "completed"
    assert status["kind"] == "image"
    results = client.get(f"/jobs/{body['job_id']}/results", headers=auth).json()
    assert results["frames"][0]["detections"] == body["detections"]


def test_image_params_filter_classes_and_sizes(client: httpx.Client, auth: dict[str, str]) -> None:
    with BUS.open("rb") as handle:
        only_bus = client.post(
            "/process/image",
            files={"file": ("bus.jpg", handle)},
            data={"params": json.dumps({"classes": ["bus"]})},
            headers=auth,
        ).json()
    assert {d["label"] for d in only_bus["detections"]} == {"bus"}
    with BUS.open("rb") as handle:
        big_only = client.post(
            "/process/image",
            files={"file": ("bus.jpg", handle)},
            data={"params": json.dumps({"min_box_size": 300})},
            headers=auth,
        ).json()
    for detection in big_only["detections"]:
        x1, y1, x2, y2 = detection["bbox"]
        assert x2 - x1 >= 299
        assert y2 - y1 >= 299
    assert len(big_only["detections"]) < len(only_bus["detections"]) + 4


def test_undecodable_video_fails_with_a_clear_message(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    response = client.post(
        "/process/video", files={"file": ("clip.mp4", mp4_without_video())}, headers=auth
    )
    assert response.status_code == 202, response.text
    status = wait_for(client, response.json()["job_id"], auth)
    assert status["status"] == "failed"
    assert status["error"] == "could not decode video"
    results = client.get(f"/jobs/{status['job_id']}/results", headers=auth)
    assert results.status_code == 409
    assert "could not decode video" in results.json()["detail"]
    assert not uploads()


def test_list_jobs_newest_first_with_filter_and_pages(client: httpx.Client) -> None:
    headers = signup_and_signin(client)
    ids = []
    for _ in range(3):
        with BUS.open("rb") as handle:
            ids.append(
                client.post("/process/image", files={"file": handle}, headers=headers).json()[
                    "job_id"
                ]
            )
    listed = client.get("/jobs", headers=headers).json()
    assert listed["total"] == 3
    assert [item["job_id"] for item in listed["items"]] == ids[::-1]
    page = client.get("/jobs", params={"page": 2, "page_size": 2}, headers=headers).json()
    assert [item["job_id"] for item in page["items"]] == [ids[0]]
    assert client.get("/jobs", params={"status": "failed"}, headers=headers).json()["total"] == 0
    assert client.get("/jobs", params={"status": "completed"}, headers=headers).json()["total"] == 3
    assert client.get("/jobs", params={"status": "bogus"}, headers=headers).status_code == 422


def test_delete_cancels_a_running_video_and_removes_its_data(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = _submit_video(client, auth, {})  # all 341 frames: far longer than this test waits
    job_id = accepted["job_id"]
    status = wait_for_first_frames(client, job_id, auth)
    assert status["status"] == "processing"
    assert client.delete(f"/jobs/{job_id}", headers=auth).status_code == 204
    assert client.get(f"/jobs/{job_id}/status", headers=auth).status_code == 404
    assert not db_fetch("SELECT 1 FROM jobs WHERE id = $1", uuid.UUID(job_id))
    assert not db_fetch("SELECT 1 FROM job_frames WHERE job_id = $1", uuid.UUID(job_id))
    assert not uploads()
    # The single worker process must let go of the cancelled video within seconds for
    # this image to be answered inside the API's wait.
    started = time.monotonic()
    with BUS.open("rb") as handle:
        image = client.post("/process/image", files={"file": handle}, headers=auth)
    assert image.status_code == 200
    assert time.monotonic() - started < 15
    assert not db_fetch("SELECT 1 FROM job_frames WHERE job_id = $1", uuid.UUID(job_id))


def test_delete_finished_job(client: httpx.Client, auth: dict[str, str]) -> None:
    with BUS.open("rb") as handle:
        job_id = client.post("/process/image", files={"file": handle}, headers=auth).json()[
            "job_id"
        ]
    assert client.delete(f"/jobs/{job_id}", headers=auth).status_code == 204
    assert client.get(f"/jobs/{job_id}/results", headers=auth).status_code == 404
    assert client.delete(f"/jobs/{job_id}", headers=auth).status_code == 404


def test_someone_elses_job_is_404_everywhere(client: httpx.Client, auth: dict[str, str]) -> None:
    accepted = _submit_video(client, auth, {"max_frames": 2})
    job_id = accepted["job_id"]
    wait_for(client, job_id, auth)
    intruder = signup_and_signin(client)
    for method, url in (
        ("GET", f"/jobs/{job_id}/status"),
        ("GET", f"/jobs/{job_id}/results"),
        ("GET", f"/tasks/video-analysis-result/{job_id}/"),
        ("DELETE", f"/jobs/{job_id}"),
    ):
        response = client.request(method, url, headers=intruder)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"] == "not_found"
    assert client.get("/jobs", headers=intruder).json()["total"] == 0
    assert client.get(f"/jobs/{job_id}/results", headers=auth).status_code == 200
    assert client.get("/jobs/not-a-uuid/status", headers=auth).status_code == 404
    assert client.get(f"/jobs/{uuid.uuid4()}/status", headers=auth).status_code == 404
