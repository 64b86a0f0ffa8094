"""What `make bench` prints and writes, from the same numbers: each section's figures as it
ends, its goal rows (baseline and ours from the same run, the ratio, the target, PASS or FAIL),
the table of every row at the end, and the `--json` document."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api_status import (
    CONNECTIONS,
    DURATION_S,
    GOAL_P99_MS,
    GOAL_REQUESTS_PER_S,
    THREADS,
    StatusResult,
    WrkRun,
)
from bench.api_video import ApiVideoResult
from bench.camera_capacity import CAMERA_CLIP
from bench.camera_goals import CAPACITY_CAMERAS, CAPACITY_FPS, Goal
from bench.common import model_path, percentile
from bench.gated import GateResult
from bench.image_endpoint import ImageResult
from bench.inference import JOBS
from bench.video import VideoResult, VideoRun
from bench.worker_goals import WorkerResult, worker_goals
from shared.cameras.params import DEFAULT_DETECT_FPS
from shared.params import DETECTOR_KINDS

# The goals' targets.
API_OVER_BARE = 1.3
API_OVER_INFERENCE = 0.9
FULL_OVER_BARE = 1.0
GATED_OVER_BARE = 3.0
IMAGE_ADDED_MS = 15.0


@dataclass(frozen=True)
class Row:
    """One goal: what it compares, its target, the baseline's and our figures from the same
    run, their ratio (or difference), and whether the target was met (None: not decided)."""

    goal: str
    target: str
    baseline: str
    ours: str
    ratio: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


@dataclass
class Results:
    """Everything one run measured; a section that failed leaves its result None and its error
    under its name."""

    video: VideoResult | None = None
    api_video: ApiVideoResult | None = None
    gate: GateResult | None = None
    image: ImageResult | None = None
    status: StatusResult | None = None
    cameras: Goal | None = None
    worker: WorkerResult | None = None
    # The bare loop on the camera clip, run in process before any stack.
    camera_bare: VideoRun | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # The 1-minute load average as each section started.
    loads: dict[str, float] = field(default_factory=dict)

    def missing(self, *sections: str) -> str:
        """Why a row has no figure: the first error among the sections it needs."""
        errors = [self.errors[s] for s in sections if s in self.errors]
        return f"not measured: {errors[0]}" if errors else "not measured"


# A figure, or why it is missing.
Figure = float | str


def _round(value: float, digits: int = 2) -> float | None:
    # JSON has no NaN; a missing figure is null.
    return None if math.isnan(value) else round(value, digits)


def _fps(value: float) -> str:
    return f"{value:.1f} fps"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def header_lines() -> list[str]:
    # Other processes on a small machine move the figures more than anything measured here;
    # the load printed at each section says how far to trust them.
    load = os.getloadavg()[0]
    return [f"model  {model_path().name}  ({os.cpu_count()} CPUs, load {load:.2f} at start)"]


def section_lines(results: Results, key: str, title: str) -> list[str]:
    """A section's heading, with the machine's load as it starts (recorded for --json)."""
    one, five, _ = os.getloadavg()
    results.loads[key] = round(one, 2)
    return ["", f"== {title}  (load {one:.2f} over 1 min, {five:.2f} over 5 min)"]


def video_lines(result: VideoResult) -> list[str]:
    passes = result.passes
    lines = [
        f"video  {result.video.name}  {result.frames} frames"
        + (f"  ({passes} passes each)" if passes > 1 else ""),
        f"  bare ultralytics loop (decode + predict)      {_fps(result.fps('baseline')):>10}",
    ]
    pure = ""
    if result.side("inference"):
        lines.append(
            f"  pure inference (OpenVINO, {JOBS} requests)         "
            f"{_fps(result.fps('inference')):>10}"
            "   frames decoded and letterboxed before the clock"
        )
        pure = f", {_ratio(result.ratio('vigil', 'inference'))} pure inference"
    lines += [
        f"  vigil in process, default job (objects)       {_fps(result.fps('vigil')):>10}"
        f"   {_ratio(result.ratio('vigil'))} bare{pure}",
        f"  vigil in process, full suite                  {_fps(result.fps('full')):>10}"
        f"   {_ratio(result.ratio('full'))} bare",
        f"    ({', '.join(DETECTOR_KINDS)} + tracking, a zone and a line;",
        "     every detector reads the same decoded frame)",
    ]
    if not result.frame_counts_agree:
        counts = ", ".join(f"{run.side} {run.frames}" for run in result.runs)
        lines.append(f"  WARNING: frame counts differ between passes: {counts}")
    return lines


def api_video_lines(result: ApiVideoResult) -> list[str]:
    lines = [f"video job through the API  {result.video.name}  default parameters"]
    for job in result.jobs:
        lines.append(
            f"  {job.frames} frames in {job.processing_s:.2f} s (the job's processing_time)"
            f"   {_fps(job.fps):>10}   started→finished {job.started_to_finished_s:.2f} s,"
            f" upload→completed seen {job.client_s:.2f} s"
        )
    if len(result.jobs) > 1:
        lines.append(f"  all jobs   {_fps(result.fps)}")
    return lines


def fps_row(goal: str, target: float, baseline: Figure, ours: Figure, detail: str = "") -> Row:
    """A goal on ours fps over the baseline's; a figure that is a string says why it is missing,
    and the row fails."""
    shown = [value if isinstance(value, str) else _fps(value) for value in (baseline, ours)]
    if isinstance(baseline, str) or isinstance(ours, str):
        return Row(goal, f"≥ {target:.1f}x", shown[0], shown[1], "-", False)
    ratio = ours / baseline
    return Row(
        goal, f"≥ {target:.1f}x", shown[0], shown[1] + detail, _ratio(ratio), ratio >= target
    )


def video_rows(results: Results) -> list[Row]:
    """Rows 1-3: the default video job through the API over the bare loop and over the model's
    pure inference, and the full suite over the bare loop."""
    video, api = results.video, results.api_video
    ours: Figure = api.fps if api is not None else results.missing("api_video", "stack")
    bare: Figure
    pure: Figure
    full: Figure
    if video is None:
        bare = pure = full = results.missing("video")
        detail = ""
    else:
        bare, full = video.fps("baseline"), video.fps("full")
        pure = (
            video.fps("inference")
            if video.side("inference")
            else "not measured: the model is not OpenVINO's"
        )
        detail = f" (in process: {_fps(video.fps('vigil'))})"
    return [
        fps_row(
            "default video job through the API / bare ultralytics loop, same model",
            API_OVER_BARE,
            bare,
            ours,
            detail,
        ),
        fps_row(
            "default video job through the API / the model's pure inference, same run",
            API_OVER_INFERENCE,
            pure,
            ours,
            detail,
        ),
        fps_row("full suite in process / bare ultralytics loop", FULL_OVER_BARE, bare, full),
    ]


def gate_lines(result: GateResult) -> list[str]:
    videos = result.videos
    counts = result.counts
    gated, ungated = result.summaries["gated"], result.summaries["ungated"]
    lines = [
        f"motion gate  {videos.video.name}  {videos.frames} frames"
        " (a street frozen, then traffic, then frozen again; sensor grain throughout)",
        f"  bare ultralytics loop                         {_fps(videos.fps('baseline')):>10}",
        f"  vigil, gated (objects, tracking, zone, line)  {_fps(videos.fps('gated')):>10}"
        f"   {_ratio(videos.ratio('gated'))} bare;  frames detected {counts['frames_detected']},"
        f" carried over {counts['frames_carried']}",
        f"  vigil, the same job ungated                   {_fps(videos.fps('ungated')):>10}"
        f"   {_ratio(videos.ratio('ungated'))} bare",
        f"  unique objects  gated {gated['unique_objects']}  ungated {ungated['unique_objects']}"
        f"  {'identical' if result.same_unique_objects else 'DIFFERENT'}",
        f"  events (type, zone, line, label; time within the gate's full-detection interval)"
        f"  gated {len(gated['events'])}"
        f"  ungated {len(ungated['events'])}  {'identical' if result.same_events else 'DIFFERENT'}",
    ]
    if not result.same_events:
        only_gated, only_ungated = result.event_differences()
        lines += [f"    only gated:   {only_gated}", f"    only ungated: {only_ungated}"]
    return lines


def gate_rows(results: Results) -> list[Row]:
    goal = "motion-gated job on a mostly still clip / bare loop on the same clip"
    result = results.gate
    if result is None:
        row = fps_row(goal, GATED_OVER_BARE, results.missing("gate"), "-")
    else:
        same = result.same_unique_objects and result.same_events
        row = fps_row(
            goal,
            GATED_OVER_BARE,
            result.videos.fps("baseline"),
            result.videos.fps("gated"),
            ", same unique counts and events" if same else ", results DIFFER from ungated",
        )
        row = dataclasses.replace(row, passed=row.passed and same)
    return [dataclasses.replace(row, target=f"{row.target}, same unique counts and events")]


def _latency(label: str, samples: list[float]) -> str:
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    return f"  {label:<44} p50 {p50:5.1f} ms   p95 {p95:5.1f} ms"


def image_in_process_lines(result: ImageResult) -> list[str]:
    return [
        f"image  {result.image.name}  {result.requests} requests each",
        _latency("in-process predict, ultralytics", result.in_process_ms),
        _latency("in-process detection, our engine", result.engine_ms),
    ]


def image_endpoint_lines(result: ImageResult) -> list[str]:
    lines = [
        _latency("POST /process/image", result.endpoint_ms),
        f"  endpoint p50 - ultralytics' in-process p50    {result.added_ms:+6.1f} ms"
        f"   ({result.ratio:.1f}x in-process)",
    ]
    if result.errors:
        lines.append(f"  ERRORS: {len(result.errors)} request(s) not answered 200")
        lines += [f"    {error}" for error in result.errors]
    return lines


def image_rows(results: Results) -> list[Row]:
    goal = "image endpoint p50 / in-process ultralytics predict p50"
    target = f"≤ +{IMAGE_ADDED_MS:g} ms"
    result = results.image
    if result is None:
        return [Row(goal, target, results.missing("image"), "-", "-", False)]
    in_process = percentile(result.in_process_ms, 50)
    engine = percentile(result.engine_ms, 50)
    baseline = f"p50 {in_process:.1f} ms (our engine in process: {engine:.1f} ms)"
    if not result.endpoint_ms:
        return [Row(goal, target, baseline, results.missing("endpoint", "stack"), "-", False)]
    return [
        Row(
            goal,
            target,
            baseline,
            f"p50 {percentile(result.endpoint_ms, 50):.1f} ms"
            + (f", {len(result.errors)} errors" if result.errors else ""),
            f"{result.added_ms:+.1f} ms",
            result.added_ms <= IMAGE_ADDED_MS and not result.errors,
        )
    ]


def status_rows(results: Results) -> list[Row]:
    goal = f"status polls, wrk -t{THREADS} -c{CONNECTIONS} for {DURATION_S} s"
    target = f"≥ {GOAL_REQUESTS_PER_S:,.0f}/s, p99 ≤ {GOAL_P99_MS:g} ms"
    result = results.status
    if result is None:
        return [Row(goal, target, results.missing("status", "stack"), "-", "-", False)]

    def figures(run: WrkRun) -> str:
        errors = f", {run.errors} errors" if run.errors else ""
        return f"{run.requests_per_s:,.0f}/s, p99 {run.p99_ms:.1f} ms{errors}"

    return [
        Row(
            f"{goal} on {result.cores} cores",
            target,
            f"{figures(result.baseline)} (bare FastAPI, same body)",
            figures(result.ours),
            _ratio(result.ratio),
            result.passed,
        )
    ]


def camera_bare_lines(run: VideoRun) -> list[str]:
    return [
        f"cameras' clip  {CAMERA_CLIP.name}  {run.frames} frames: bare ultralytics loop"
        f" {_fps(run.fps)} = {run.fps / DEFAULT_DETECT_FPS:.1f} cameras at"
        f" {DEFAULT_DETECT_FPS:g} analysed fps"
    ]


def camera_lines(goal: Goal) -> list[str]:
    return [f"  {goal.name}: {goal.measured}", *(f"  - {note}" for note in goal.notes)]


def camera_rows(results: Results) -> list[Row]:
    goal = "cameras per runner (640x352 in, 5 analysed fps each), shared cores"
    target = f"≥ {CAPACITY_CAMERAS} cameras, each ≥ {CAPACITY_FPS:g} fps"
    bare = results.camera_bare
    # How many cameras the bare loop's fps would serve, were all of its time spent on analysed
    # frames (a camera's other frames are decoded too, and cost that).
    bare_cameras = bare.fps / DEFAULT_DETECT_FPS if bare is not None else float("nan")
    baseline = (
        f"{bare_cameras:.1f} cameras (bare loop {_fps(bare.fps)} / {DEFAULT_DETECT_FPS:g})"
        if bare is not None
        else results.missing("camera_clip")
    )
    measured = results.cameras
    if measured is None or not measured.figures:
        return [Row(goal, target, baseline, results.missing("cameras"), "-", False)]
    rates = measured.figures["fps_analysed"]
    served = sum(1 for rate in rates if rate >= CAPACITY_FPS)
    # Compared with the bare loop's like for like: all analysed frames over the rate a camera
    # asks for (at most the cameras tested, when each got its rate).
    worth = sum(rates) / DEFAULT_DETECT_FPS
    ours = (
        f"{served} of {len(rates)} at ≥ {CAPACITY_FPS:g} fps ({min(rates):.2f}-{max(rates):.2f}),"
        f" {worth:.1f} cameras' worth of analysed frames"
    )
    ratio = _ratio(worth / bare_cameras) if bare is not None else "-"
    return [Row(goal, target, baseline, ours, ratio, measured.passed)]


def worker_rows(results: Results) -> list[Row]:
    if results.worker is None:
        goal = "analysis worker memory and ready time"
        return [Row(goal, "see bench.worker_goals", results.missing("worker"), "-", "-", False)]
    return [
        Row(goal.name, goal.target, goal.before, goal.ours, "-", goal.passed)
        for goal in worker_goals(results.worker)
    ]


def row_lines(rows: list[Row]) -> list[str]:
    return [
        f"  {row.verdict:<4}  {row.goal}: {row.ours} against {row.baseline}"
        f"  (ratio {row.ratio}; target {row.target})"
        for row in rows
    ]


def table_lines(rows: list[Row]) -> list[str]:
    """Markdown, so that it can be pasted into the docs as printed."""
    return [
        "",
        "| goal | target | baseline | ours | ratio | verdict |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.goal} | {r.target} | {r.baseline} | {r.ours} | {r.ratio} | {r.verdict} |"
            for r in rows
        ),
    ]


def _latency_json(samples: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": _round(percentile(samples, 50)),
        "p95_ms": _round(percentile(samples, 95)),
        "samples_ms": [round(sample, 2) for sample in samples],
    }


def _runs_json(runs: list[VideoRun]) -> list[dict[str, Any]]:
    return [
        {"side": run.side, "frames": run.frames, "seconds": round(run.seconds, 3)} for run in runs
    ]


def video_json(result: VideoResult) -> dict[str, Any]:
    has_inference = bool(result.side("inference"))
    return {
        "file": str(result.video),
        "frames": result.frames,
        "baseline_fps": _round(result.fps("baseline")),
        "inference_fps": _round(result.fps("inference")) if has_inference else None,
        "vigil_fps": _round(result.fps("vigil")),
        "ratio": _round(result.ratio("vigil"), 3),
        "vigil_over_inference": _round(result.ratio("vigil", "inference"), 3)
        if has_inference
        else None,
        "full_suite_fps": _round(result.fps("full")),
        "full_suite_ratio": _round(result.ratio("full"), 3),
        "runs": _runs_json(result.runs),
    }


def api_video_json(result: ApiVideoResult) -> dict[str, Any]:
    return {
        "file": str(result.video),
        "fps": _round(result.fps),
        "jobs": [
            {
                "job_id": job.job_id,
                "frames": job.frames,
                "processing_s": round(job.processing_s, 3),
                "started_to_finished_s": round(job.started_to_finished_s, 3),
                "client_s": round(job.client_s, 3),
                "fps": _round(job.fps),
            }
            for job in result.jobs
        ],
    }


def gate_json(result: GateResult) -> dict[str, Any]:
    videos = result.videos
    return {
        "frames": videos.frames,
        "baseline_fps": _round(videos.fps("baseline")),
        "gated_fps": _round(videos.fps("gated")),
        "ungated_fps": _round(videos.fps("ungated")),
        "gated_ratio": _round(videos.ratio("gated"), 3),
        "motion_gate": result.counts,
        "same_unique_objects": result.same_unique_objects,
        "same_events": result.same_events,
        "unique_objects": {
            side: summary["unique_objects"] for side, summary in result.summaries.items()
        },
        "events": {side: len(summary["events"]) for side, summary in result.summaries.items()},
        "runs": _runs_json(videos.runs),
    }


def image_json(result: ImageResult) -> dict[str, Any]:
    return {
        "file": str(result.image),
        "requests": result.requests,
        "in_process": _latency_json(result.in_process_ms),
        "engine": _latency_json(result.engine_ms),
        "endpoint": _latency_json(result.endpoint_ms),
        "ratio_p50": _round(result.ratio, 3),
        "added_p50_ms": _round(result.added_ms),
        "errors": result.errors,
    }


def status_json(result: StatusResult) -> dict[str, Any]:
    return dataclasses.asdict(result) | {"ratio": _round(result.ratio, 3), "passed": result.passed}


def camera_json(results: Results) -> dict[str, Any]:
    bare, goal = results.camera_bare, results.cameras
    return {
        "clip": str(CAMERA_CLIP),
        "bare": _runs_json([bare])[0] | {"fps": _round(bare.fps)} if bare is not None else None,
        "capacity": {
            "measured": goal.measured,
            "verdict": goal.verdict,
            "figures": goal.figures,
            "notes": goal.notes,
        }
        if goal is not None
        else None,
    }


def write_json(path: Path, results: Results, rows: list[Row]) -> None:
    def section(value: Any, render: Callable[[Any], Any]) -> Any:
        return render(value) if value is not None else None

    document = {
        "model": str(model_path()),
        "cpus": os.cpu_count(),
        "loads": results.loads,
        "video": section(results.video, video_json),
        "api_video": section(results.api_video, api_video_json),
        "gate": section(results.gate, gate_json),
        "image": section(results.image, image_json),
        "status": section(results.status, status_json),
        "cameras": camera_json(results),
        "worker": section(results.worker, dataclasses.asdict),
        "rows": [dataclasses.asdict(row) | {"verdict": row.verdict} for row in rows],
        "errors": results.errors,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
