"""A worker serving the OpenVINO model never imports torch or ultralytics: not on start, not in
warm-up, not in a video job with every detector, tracking, zones, lines and the annotated
output. Checked in a process of its own, since this one may have imported them for other tests
(tests/unit/test_inference_parity.py does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared.settings import get_settings
from tests.conftest import MEDIA_DIR, REPO_ROOT

# argv: the folder the annotated videos go to, then the videos. Prints one JSON line: the heavy
# modules loaded after each stage, and what each video's analysis found.
WORKER = """
import json, sys
from pathlib import Path

HEAVY = {"torch", "torchvision", "ultralytics"}

def heavy():
    return sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)

loaded = {}
import worker.celery_app
loaded["import worker.celery_app"] = heavy()
from worker.services.warmup import warm_up
warm_up()
loaded["warm_up()"] = heavy()

from shared.params import JobParams
from worker.engine.analysis import VideoAnalysis

params = JobParams.model_validate({
    "detectors": [
        "objects", {"kind": "people", "strategy": "fused"}, "faces", "motion", "vehicles",
        "plates",
    ],
    "max_frames": 10,
    "tracking": {"enabled": True, "min_track_frames": 2},
    "zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
    "lines": [{"name": "middle", "start": [0.5, 0], "end": [0.5, 1]}],
    "annotate": True,
})
videos = {}
for path in map(Path, sys.argv[2:]):
    analysis = VideoAnalysis(path, params, annotated_to=Path(sys.argv[1]) / f"{path.stem}.mp4")
    records = list(analysis.frames())
    summary = analysis.summary
    videos[path.name] = {
        "frames": len(records),
        "labels": sorted({d["label"] for r in records for d in r.detections}),
        "unique_objects": summary["total_unique_objects"],
        "zones": sorted(summary["zones"]),
        "annotated": analysis.annotated_codec is not None,
    }
    loaded[f"analysis of {path.name}"] = heavy()
print(json.dumps({"loaded": loaded, "videos": videos}))
"""


def run_worker(output: Path, *videos: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(output), *map(str, videos)],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_a_worker_runs_a_full_video_job_without_torch_or_ultralytics(tmp_path: Path) -> None:
    # The default model is the OpenVINO export: the one a worker must serve without torch.
    assert get_settings().model_name.endswith("_openvino_model")
    cars, pedestrians = (
        MEDIA_DIR / "video" / "cars_street.mp4",
        MEDIA_DIR / "video" / "pedestrians_vtest.avi",
    )

    found = run_worker(tmp_path, cars, pedestrians)

    # The job really ran: frames analysed, objects found and tracked, the zone counted.
    videos = found["videos"]
    assert set(videos) == {cars.name, pedestrians.name}
    assert {video["frames"] for video in videos.values()} == {10}
    assert "car" in videos[cars.name]["labels"]
    assert "person" in videos[pedestrians.name]["labels"]
    assert all(video["unique_objects"] > 0 for video in videos.values())
    assert all(video["zones"] == ["left"] for video in videos.values())
    assert all(video["annotated"] for video in videos.values())
    assert list(found["loaded"]) == [
        "import worker.celery_app",
        "warm_up()",
        f"analysis of {cars.name}",
        f"analysis of {pedestrians.name}",
    ]

    for stage, modules in found["loaded"].items():
        print(f"{stage}: {modules}")
    first = {stage: modules[:5] for stage, modules in found["loaded"].items() if modules}
    assert not first, f"torch or ultralytics imported (first modules of each stage): {first}"
