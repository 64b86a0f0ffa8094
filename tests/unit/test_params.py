from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts import JobParams, object_type


def test_defaults() -> None:
    params = JobParams()
    assert params.confidence_threshold == 0.25
    assert params.classes is None
    assert params.frame_skip == 1
    assert params.max_frames is None


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
    ],
)
def test_invalid(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        JobParams.model_validate(raw)
    assert info.value.errors()[0]["loc"][0] == next(iter(raw))


def test_classes_deduplicated_in_order() -> None:
    assert JobParams(classes=["car", "person", "car"]).classes == ["car", "person"]


def test_object_types() -> None:
    assert [object_type(x) for x in ("person", "truck", "dog", "laptop")] == [
        "person",
        "vehicle",
        "animal",
        "object",
    ]
