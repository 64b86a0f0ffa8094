from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import object_type
from shared.params import (
    JobParams,
    ObjectsParams,
    PeopleParams,
    PlatesParams,
    VehiclesParams,
    validation_context,
)
from shared.plates import DEFAULT_PLATE_FORMATS


def test_defaults() -> None:
    params = JobParams()
    assert params.confidence_threshold == 0.25
    assert params.classes is None
    assert params.frame_skip == 1
    assert params.max_frames is None
    assert [d.kind for d in params.detectors] == ["objects"]
    assert params.tracking.enabled
    assert not params.annotate


@pytest.mark.parametrize(
    "raw",
    [
        {"confidence_threshold": 0.91},
        {"confidence_threshold": 0.09},
        {"classes": []},
        {"classes": ["dragon"]},
        {"frame_skip": 0},
        {"max_frames": 0},
        {"min_box_size": -1},
        {"unknown": 1},
        {"detectors": []},
        {"detectors": ["xray"]},
        {"detectors": ["objects", "objects"]},
        {"detectors": [{"kind": "people", "confidence": 0.95}]},
        {"detectors": [{"kind": "people", "strategy": "magic"}]},
        {"detectors": [{"kind": "vehicles", "types": ["person"]}]},
        {"detectors": [{"kind": "faces", "colour": "red"}]},
        {"zones": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]},
        {"zones": [{"name": "a", "polygon": [[0, 0], [0.5, 0.5], [1, 1]]}]},
        {"zones": [{"name": "a", "polygon": [[0, 0], [1.5, 0], [1, 1]]}]},
        {"lines": [{"name": "l", "start": [0.5, 0.5], "end": [0.5, 0.5]}]},
        {"roi_only": True},
        {"tracking": {"tracker": "sort"}},
        {"crowd": {"levels": [{"name": "a", "min_people": 1}, {"name": "a", "min_people": 2}]}},
    ],
)
def test_invalid(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        JobParams.model_validate(raw)
    loc = info.value.errors()[0]["loc"]
    assert loc == () or loc[0] == next(iter(raw))


def test_classes_deduplicated_in_order() -> None:
    assert JobParams(classes=("car", "person", "car")).classes == ("car", "person")


def test_detectors_by_name_or_object_take_job_defaults() -> None:
    params = JobParams.model_validate(
        {
            "detectors": ["objects", {"kind": "people", "confidence": 0.6}, "vehicles"],
            "confidence_threshold": 0.4,
            "classes": ["dog"],
            "min_box_size": 12,
        }
    )
    objects, people, vehicles = params.resolved_detectors()
    assert objects == ObjectsParams(confidence=0.4, classes=("dog",), min_box_size=12)
    assert people == PeopleParams(confidence=0.6, min_box_size=12)
    assert isinstance(vehicles, VehiclesParams)
    assert vehicles.confidence == 0.4
    # Equal configs are equal keys: two jobs asking the same share one detector instance.
    assert hash(objects) == hash(ObjectsParams(confidence=0.4, classes=("dog",), min_box_size=12))


def test_zones_and_lines_round_trip_and_roi_zones_alias() -> None:
    raw = {
        "roi_zones": [{"name": "door", "polygon": [[0, 0], [0.5, 0], [0.5, 1]]}],
        "lines": [{"name": "gate", "start": [0.5, 0], "end": [0.5, 1], "classes": ["person"]}],
        "roi_only": True,
    }
    params = JobParams.model_validate(raw)
    assert params.zones[0].name == "door"
    assert params.zones[0].loiter_seconds == 30.0
    # What the API stores is what the worker reads back.
    assert JobParams.model_validate(params.model_dump(mode="json")) == params


def test_zone_and_line_names_unique() -> None:
    with pytest.raises(ValidationError, match="unique"):
        JobParams.model_validate(
            {
                "zones": [{"name": "x", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                "lines": [{"name": "x", "start": [0, 0], "end": [1, 1]}],
            }
        )


def test_object_types() -> None:
    assert [object_type(x) for x in ("person", "truck", "dog", "laptop", "face", "motion")] == [
        "person",
        "vehicle",
        "animal",
        "object",
        "face",
        "motion",
    ]


def _plates(region: str, context: dict[str, Any] | None = None) -> JobParams:
    raw = {"detectors": [{"kind": "plates", "region": region}]}
    return JobParams.model_validate(raw, context=context)


def test_plate_regions_are_the_server_s_given_as_context() -> None:
    """Validation reads no environment: the caller passes its server's plate formats, and
    without them (the SDK, a test) the built-in regions apply."""
    assert _plates("UK").detector("plates") == PlatesParams(region="uk")
    with pytest.raises(
        ValidationError, match=r"unknown plate region 'xx' \(known: uk, in, eu, us\)"
    ):
        _plates("xx")
    own = validation_context({"xx": ["[A-Z]{3}"]})
    assert _plates("xx", own).detector("plates") == PlatesParams.model_validate(
        {"region": "xx"}, context=own
    )
    with pytest.raises(ValidationError, match=r"unknown plate region 'uk' \(known: xx\)"):
        _plates("uk", own)
    assert validation_context(None) == validation_context(DEFAULT_PLATE_FORMATS)
