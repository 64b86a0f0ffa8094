"""A camera's parameters as the runner and the API read them back: validated against the server's
plate regions, and the analysed rate before and after the source's own rate is known."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.cameras.params import DEFAULT_DETECT_FPS, CameraParams
from shared.configured import params_context
from shared.settings import Settings

# A region only this server knows (VIGIL_PLATE_FORMATS).
CUSTOM_FORMATS = {"xx": ["^[A-Z]{2}[0-9]{4}$"]}
WITH_CUSTOM_REGION: dict[str, Any] = {"detectors": [{"kind": "plates", "region": "xx"}]}
CAP = 10.0


def test_stored_parameters_are_loaded_with_the_servers_plate_regions() -> None:
    context = params_context(Settings(plate_formats=CUSTOM_FORMATS))
    params = CameraParams.load(WITH_CUSTOM_REGION, context)
    plates = params.job_params(context).detector("plates")
    assert plates is not None
    assert getattr(plates, "region", None) == "xx"
    # Without the context only the built-in regions are known: why loading takes one.
    with pytest.raises(ValidationError, match="unknown plate region 'xx'"):
        CameraParams.model_validate(WITH_CUSTOM_REGION)
    with pytest.raises(ValidationError, match="unknown plate region 'xx'"):
        CameraParams.load(WITH_CUSTOM_REGION, params_context(Settings(plate_formats=None)))


def test_warnings_of_stored_parameters_need_no_plate_region() -> None:
    stored = {**WITH_CUSTOM_REGION, "max_fps": 30, "frame_skip": 2}
    assert CameraParams.stored_warnings(stored, CAP) == [
        "analysis capped at 10 frames per second (asked for 30; VIGIL_CAMERA_MAX_DETECT_FPS)"
    ]
    assert CameraParams.stored_warnings(WITH_CUSTOM_REGION, CAP) == []
    assert CameraParams.stored_warnings({"detect_fps": 8}, CAP) == []


@pytest.mark.parametrize(
    ("asked", "source_fps", "expected"),
    [
        # Nothing asked: the default rate, never above the source's.
        ({}, 0.0, DEFAULT_DETECT_FPS),
        ({}, 25.0, DEFAULT_DETECT_FPS),
        ({}, 2.0, 2.0),
        # detect_fps, whatever the source, within the cap and the source's rate.
        ({"detect_fps": 8}, 0.0, 8.0),
        ({"detect_fps": 8}, 25.0, 8.0),
        ({"detect_fps": 8}, 4.0, 4.0),
        ({"detect_fps": 30}, 25.0, CAP),
        # max_fps: the rate asked for until the source's is known, then at most the source's.
        ({"max_fps": 3}, 0.0, 3.0),
        ({"max_fps": 3}, 25.0, 3.0),
        ({"max_fps": 30}, 0.0, CAP),
        ({"max_fps": 6}, 4.0, 4.0),
        # frame_skip: a fraction of the source's rate; the default rate until that is known.
        ({"frame_skip": 5}, 0.0, DEFAULT_DETECT_FPS),
        ({"frame_skip": 5}, 25.0, 5.0),
        ({"frame_skip": 10}, 25.0, 2.5),
        ({"frame_skip": 1}, 25.0, CAP),
        # Both: the lower of the two.
        ({"max_fps": 4, "frame_skip": 2}, 0.0, 4.0),
        ({"max_fps": 4, "frame_skip": 2}, 25.0, 4.0),
        ({"max_fps": 4, "frame_skip": 10}, 25.0, 2.5),
        # Never below 0.1 frames per second.
        ({"frame_skip": 1000}, 25.0, 0.1),
    ],
)
def test_target_fps(asked: dict[str, Any], source_fps: float, expected: float) -> None:
    assert CameraParams.model_validate(asked).target_fps(source_fps, CAP) == pytest.approx(expected)
