"""Licence plates through the API: photos, a dashcam video, the owner's watchlist, the OCR
engine choice and its validation."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.conftest import finished_results, submit, wait_for
from tests.media import DASHCAM_PLATE, PLATE_JPG, PLATE_PNG

PLATES = {"detectors": ["plates"]}


def test_reads_both_car_photos_and_matches_the_watchlist(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    watched = client.post(
        "/watchlist", json={"plate": "dz17 yxr", "label": "person of interest"}, headers=auth
    )
    assert watched.status_code == 201, watched.text
    read = {}
    for image in (PLATE_JPG, PLATE_PNG):
        results = finished_results(client, auth, submit(client, auth, image, PLATES)["job_id"])
        summary = results["summary"]
        assert len(summary["plates"]) == 1, summary["plates"]
        plate = summary["plates"][0]
        assert {"license_plate", "confidence", "region", "bbox", "vehicle_track_id"} <= set(plate)
        read[image.name] = (plate["license_plate"], plate["region"])
        frame_plates = [
            d for d in results["frames"][0]["detections"] if d["label"] == "license_plate"
        ]
        assert [d["attributes"]["license_plate"] for d in frame_plates] == [plate["license_plate"]]
        matches = [e for e in summary["events"] if e["type"] == "watchlist_match"]
        expected = [("DZ17YXR", "person of interest")] if image == PLATE_PNG else []
        assert [(m["license_plate"], m["watch_label"]) for m in matches] == expected
    assert read == {PLATE_JPG.name: ("SN66XMZ", "uk"), PLATE_PNG.name: ("DZ17YXR", "uk")}


def test_dashcam_video_reports_its_car_plate_once(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = submit(client, auth, DASHCAM_PLATE, PLATES)
    results = finished_results(client, auth, accepted["job_id"], page_size=500)
    plates = results["summary"]["plates"]
    assert [p["license_plate"] for p in plates].count("KA22P3368") == 1, plates
    plate = next(p for p in plates if p["license_plate"] == "KA22P3368")
    assert plate["region"] == "in"
    assert plate["supporting_reads"] >= 2
    assert plate["vehicle_track_id"] is not None
    assert plate["first_seen"] < plate["last_seen"]
    events = [e for e in results["summary"]["events"] if e["type"] == "plate_read"]
    assert [e["license_plate"] for e in events].count("KA22P3368") == 1


def test_a_job_asking_for_easyocr_without_its_weights_fails_saying_why(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    params = {"detectors": [{"kind": "plates", "ocr_engine": "easyocr"}]}
    accepted = submit(client, auth, PLATE_JPG, params)
    status = wait_for(client, accepted["job_id"], auth, timeout_s=60)
    assert status["status"] == "failed"
    for needed in ("craft_mlt_25k.pth", "english_g2.pth", "VIGIL_MODEL_DIR", "rapidocr"):
        assert needed in status["error"]


@pytest.mark.parametrize(
    ("plates", "field"),
    [
        ({"ocr_engine": "tesseract"}, "ocr_engine"),
        ({"region": "atlantis"}, "region"),
        ({"localisation": "everywhere"}, "localisation"),
        ({"reads_per_vehicle": 0}, "reads_per_vehicle"),
    ],
)
def test_bad_plate_params_are_422_naming_the_field(
    client: httpx.Client, auth: dict[str, str], plates: dict[str, object], field: str
) -> None:
    params = {"detectors": [{"kind": "plates", **plates}]}
    with PLATE_JPG.open("rb") as handle:
        response = client.post(
            "/process/image",
            files={"file": (PLATE_JPG.name, handle, "image/jpeg")},
            data={"params": json.dumps(params)},
            headers=auth,
        )
    assert response.status_code == 422, response.text
    assert field in response.text
