"""Models load once per process: warm-up loads the detectors' models but leaves the OCR engine to
the first plates job unless VIGIL_WARMUP_OCR asks for it, and every pipeline of a process (file
jobs, or a camera runner's cameras) shares the same detectors, YOLO runner and OCR engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from shared.cameras.params import CameraParams
from shared.configured import params_context
from shared.params import JobParams
from shared.settings import get_settings
from tests.conftest import REPO_ROOT
from worker.anpr.ocr import default_engine, get_engine
from worker.detectors.cascades import haar_cascade
from worker.detectors.plugins.faces import CASCADE_FILE
from worker.detectors.plugins.people import hog_people
from worker.detectors.yolo import yolo_runner
from worker.engine.analysers.plates import PlatesAnalyser
from worker.engine.pipeline import Pipeline

# Warms up as a worker process does, with the settings of the environment, then says what
# holds the OCR engine. A process of its own: this one may have loaded OCR for other tests.
WARM_UP = """
import json, sys
from worker.anpr.ocr import get_engine
from worker.detectors.yolo import yolo_runner
from worker.services.warmup import warm_up
warm_up()
print(json.dumps({
    "ocr_engines": get_engine.cache_info().currsize,
    "rapidocr_imported": "rapidocr" in sys.modules,
    "yolo_runners": yolo_runner.cache_info().currsize,
}))
"""

YOLO_KINDS = ["objects", "people", "faces", "vehicles", "plates"]


def warmed_up(**settings: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_WARMUP_")}
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP],
        cwd=REPO_ROOT,
        env=env | settings,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_default_warm_up_loads_the_detectors_model_but_not_ocr() -> None:
    assert warmed_up() == {"ocr_engines": 0, "rapidocr_imported": False, "yolo_runners": 1}


def test_warm_up_loads_ocr_when_asked() -> None:
    found = warmed_up(VIGIL_WARMUP_DETECTORS='["plates"]', VIGIL_WARMUP_OCR="true")
    assert found == {"ocr_engines": 1, "rapidocr_imported": True, "yolo_runners": 1}


def test_ocr_alone_can_be_warmed_up() -> None:
    found = warmed_up(VIGIL_WARMUP_DETECTORS="[]", VIGIL_WARMUP_OCR="true")
    assert found == {"ocr_engines": 1, "rapidocr_imported": True, "yolo_runners": 0}


def ocr_of(pipeline: Pipeline) -> object:
    (plates,) = [a for a in pipeline.analysers if isinstance(a, PlatesAnalyser)]
    return plates.monitor.reader.engine


def test_two_pipelines_share_their_detectors_and_ocr_engine() -> None:
    params = JobParams.model_validate({"detectors": [*YOLO_KINDS, "motion"]})
    first = Pipeline(params, video=True, analysed_fps=5.0)
    second = Pipeline(params, video=False)
    assert len(first.detectors) == len(YOLO_KINDS)
    assert all(a is b for a, b in zip(first.detectors, second.detectors, strict=True))
    assert ocr_of(first) is ocr_of(second) is get_engine(default_engine())
    # What the detectors load once per process.
    assert haar_cascade(CASCADE_FILE) is haar_cascade(CASCADE_FILE)
    assert hog_people() is hog_people()


def camera_pipeline(parameters: dict[str, Any], fps: float) -> Pipeline:
    """As the camera runner's analysis thread builds one (worker/cameras/analysis.py)."""
    job = CameraParams.model_validate(parameters).job_params(params_context(get_settings()))
    return Pipeline(job, video=True, analysed_fps=fps, watchlist=(), retain="live")


def test_cameras_of_one_runner_share_one_model() -> None:
    """A runner analyses all its cameras in one thread of one process: cameras with the same
    parameters share the detectors themselves, and cameras with different ones the YOLO runner
    (the model) underneath."""
    gate = {"detection_classes": ["person", "car"], "enable_anpr": True}
    yard = {"detection_classes": ["truck"], "confidence_threshold": 0.4}
    first, second = camera_pipeline(gate, 5.0), camera_pipeline(gate, 2.0)
    other = camera_pipeline(yard, 5.0)
    assert all(a is b for a, b in zip(first.detectors, second.detectors, strict=True))
    assert ocr_of(first) is ocr_of(second)
    runner = yolo_runner(get_settings().model_name)
    runners = {id(getattr(d, "runner", None)) for d in [*first.detectors, *other.detectors]}
    assert runners == {id(runner)}
