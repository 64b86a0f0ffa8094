"""The `plates` detector on the shared media: reading, regional formats, one plate per vehicle
on video, the watchlist, and the OCR engines' loading."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from shared.params import JobParams, PlatesParams
from shared.settings import get_settings
from tests.media import DASHCAM_PLATE, PLATE_JPG, PLATE_PNG
from worker.anpr.ocr import (
    EASYOCR_FILES,
    EasyOcrEngine,
    default_engine,
    easyocr_missing,
    get_engine,
)
from worker.engine.analysers.plates import view_quality
from worker.engine.analysis import VideoAnalysis, analyze_image
from worker.engine.outputs import WatchEntry
from worker.engine.pipeline import Pipeline
from worker.engine.sources import FileSource
from worker.errors import ModelUnavailableError


def plates_job(**plates: object) -> JobParams:
    return JobParams.model_validate({"detectors": [{"kind": "plates", **plates}]})


@pytest.mark.parametrize(("image", "plate"), [(PLATE_JPG, "SN66XMZ"), (PLATE_PNG, "DZ17YXR")])
def test_reads_the_plate_of_a_car_photo(image: Path, plate: str) -> None:
    result = analyze_image(image, plates_job())
    assert [p["license_plate"] for p in result.summary["plates"]] == [plate]
    found = result.summary["plates"][0]
    assert found["region"] == "uk"
    assert 0.5 <= found["confidence"] <= 1.0
    records = [d for d in result.detections if d["label"] == "license_plate"]
    assert len(records) == 1
    assert records[0]["type"] == "plate"
    assert records[0]["attributes"]["license_plate"] == plate
    # The plate lies on the car the same job reports.
    x1, y1, x2, y2 = records[0]["bbox"]
    cars = [d["bbox"] for d in result.detections if d["label"] == "car"]
    assert any(c[0] <= x1 and x2 <= c[2] and c[1] <= y1 and y2 <= c[3] for c in cars)


def test_a_region_rejects_plates_of_other_formats() -> None:
    assert analyze_image(PLATE_JPG, plates_job(region="in")).summary["plates"] == []
    assert analyze_image(PLATE_JPG, plates_job(region="uk")).summary["plates"][0][
        "license_plate"
    ] == ("SN66XMZ")


def test_video_reports_the_car_plate_once_from_a_few_voted_reads() -> None:
    watch = [WatchEntry("pattern", "KA22*", "wanted"), WatchEntry("exact", "SN66XMZ", None)]
    run = VideoAnalysis(DASHCAM_PLATE, plates_job(), watchlist=watch)
    frames = list(run.frames())
    plates = run.summary["plates"]
    ka = [p for p in plates if p["license_plate"] == "KA22P3368"]
    assert len(ka) == 1, plates
    plate = ka[0]
    assert plate["region"] == "in"
    assert plate["vehicle_track_id"] is not None
    assert plate["supporting_reads"] >= 2
    assert plate["first_seen"] <= plate["first_read"]["timestamp"] <= plate["last_seen"]
    assert all(r["license_plate"] == "KA22P3368" for r in plate["reads"])
    # OCR runs on a few views of each vehicle, not on every frame.
    read_frames = {
        f.frame_index for f in frames for d in f.detections if d["label"] == "license_plate"
    }
    assert len(read_frames) <= len(frames) // 4
    budget = PlatesParams().reads_per_vehicle
    assert all(p["reads_total"] <= budget * len(p["vehicle_track_ids"]) for p in plates)
    matches = [e for e in run.summary["events"] if e["type"] == "watchlist_match"]
    assert [(m["license_plate"], m["watch_pattern"], m["watch_label"]) for m in matches] == [
        ("KA22P3368", "KA22*", "wanted")
    ]
    assert [e["license_plate"] for e in run.summary["events"] if e["type"] == "plate_read"] == [
        p["license_plate"] for p in plates
    ]


def test_a_watchlist_match_comes_with_the_frame_its_plate_settles_in() -> None:
    """A live stream cannot wait for its end: the match is in the result of the frame where the
    car's third agreeing reading settles its plate."""
    source = FileSource(DASHCAM_PLATE)
    watch = [WatchEntry("pattern", "KA22*", "wanted")]
    pipeline = Pipeline(plates_job(), video=True, analysed_fps=source.analysed_fps, watchlist=watch)
    results = [pipeline.process(f.index, f.timestamp, f.image) for f in source.frames()]
    matched = [r for r in results if r.matches]
    assert len(matched) == 1
    frame = matched[0]
    [match] = frame.matches
    [plate] = frame.plates
    assert (match.license_plate, match.watch_pattern, match.watch_label) == (
        "KA22P3368",
        "KA22*",
        "wanted",
    )
    assert plate.license_plate == "KA22P3368"
    assert match.vehicle_track_id == plate.vehicle_track_id is not None
    assert (match.emitted_frame_index, match.emitted_at) == (frame.frame_index, frame.timestamp)
    readings = [
        (r.frame_index, d["attributes"]["license_plate"])
        for r in results[: results.index(frame) + 1]
        for d in r.detections
        if d["label"] == "license_plate"
        and d["attributes"]["vehicle_track_id"] == plate.vehicle_track_id
    ]
    assert [text for _, text in readings] == ["KA22P3368"] * 3
    assert readings[-1][0] == frame.frame_index
    assert plate.supporting_reads == 3
    # Announced once: no later frame, nor the end, announces that car again.
    later = [p for r in results[results.index(frame) + 1 :] for p in r.plates]
    end = pipeline.flush()
    assert later == []
    assert (end.plates, end.matches) == ([], [])
    # The job summary's plate events still come at the end, from the merged plates.
    assert [e.type for e in end.events] == ["plate_read", "watchlist_match"]


def test_untracked_readings_each_stand_alone() -> None:
    watch = [WatchEntry("exact", "SN66XMZ", None)]
    pipeline = Pipeline(plates_job(), video=False, watchlist=watch)
    image = cv2.imread(str(PLATE_JPG))
    assert image is not None
    result = pipeline.process(0, 0.0, image)
    assert [(p.license_plate, p.vehicle_track_id) for p in result.plates] == [("SN66XMZ", None)]
    assert [m.license_plate for m in result.matches] == ["SN66XMZ"]
    assert pipeline.flush().matches == []


def test_view_quality_prefers_near_and_sharp_views() -> None:
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 255, (200, 400, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(sharp, (15, 15), 5)
    box = (0.0, 0.0, 400.0, 200.0)
    assert view_quality(sharp, box) > view_quality(blurred, box)
    assert view_quality(sharp, box) > view_quality(sharp, (0.0, 0.0, 200.0, 100.0))
    assert view_quality(sharp, (10.0, 10.0, 11.0, 11.0)) == 0.0


def test_easyocr_without_its_weights_says_which_files_and_where(tmp_path: Path) -> None:
    (tmp_path / "craft_mlt_25k.pth").write_bytes(b"")
    assert easyocr_missing(tmp_path) == ["english_g2.pth"]
    with pytest.raises(ModelUnavailableError) as raised:
        EasyOcrEngine(tmp_path)
    message = str(raised.value)
    for name in EASYOCR_FILES:
        assert name in message
    assert "VIGIL_MODEL_DIR" in message
    assert str(tmp_path.resolve()) in message


def test_easyocr_is_the_default_only_where_its_weights_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setenv("VIGIL_MODEL_DIR", str(tmp_path))
        get_settings.cache_clear()
        assert default_engine() == "rapidocr"
        with pytest.raises(ModelUnavailableError, match=r"english_g2\.pth"):
            get_engine("easyocr")
        (tmp_path / "easyocr").mkdir()
        for name in EASYOCR_FILES:
            (tmp_path / "easyocr" / name).write_bytes(b"")
        assert default_engine() == "easyocr"
    get_settings.cache_clear()


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown OCR engine"):
        get_engine("tesseract")
