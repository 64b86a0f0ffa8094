"""The analysis pipeline, free of queues and databases: the Celery tasks and `vigil analyze`
both run it. A video is decoded once, frame by frame."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from shared.contracts import JobParams
from shared.repositories.jobs import FrameRecord
from shared.settings import get_settings
from worker.detectors.base import Detector, DetectorConfig
from worker.detectors.models import describe_model
from worker.detectors.plugins.objects import ObjectsConfig
from worker.detectors.registry import get_detector
from worker.errors import MediaError
from worker.services.summary import SummaryBuilder
from worker.video.probe import VideoInfo, probe_video
from worker.video.reader import read_frames


def build_detector(params: JobParams) -> Detector[DetectorConfig]:
    config = ObjectsConfig(
        model=get_settings().model_name,
        confidence=params.confidence_threshold,
        classes=tuple(params.classes) if params.classes else None,
        min_box_size=params.min_box_size,
    )
    return get_detector(config)


def model_summary() -> dict[str, Any]:
    info = describe_model(get_settings().model_name)
    return {
        "name": info.name,
        "format": info.format,
        "version": info.version,
        "sha256": info.sha256,
        "classes": len(info.classes) if info.classes else None,
    }


@dataclass
class ImageAnalysis:
    width: int
    height: int
    detections: list[dict[str, Any]]
    summary: dict[str, Any]
    processing_time: float

    @property
    def frame(self) -> FrameRecord:
        return FrameRecord(frame_index=0, timestamp_s=0.0, detections=self.detections)


def analyze_image(path: Path, params: JobParams) -> ImageAnalysis:
    started = time.perf_counter()
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError("could not decode image")
    height, width = image.shape[:2]
    detector = build_detector(params)
    detections = [d.to_dict(width, height) for d in detector.detect(image)]
    summary = SummaryBuilder()
    summary.add(0, 0.0, detections)
    return ImageAnalysis(
        width=width,
        height=height,
        detections=detections,
        summary=summary.image_summary(),
        processing_time=round(time.perf_counter() - started, 4),
    )


@dataclass
class VideoAnalysis:
    """One pass over a video: iterate `frames()`, then read `summary`."""

    path: Path
    params: JobParams
    info: VideoInfo = field(init=False)
    frames_processed: int = 0
    builder: SummaryBuilder = field(default_factory=SummaryBuilder)

    def __post_init__(self) -> None:
        self.info = probe_video(self.path)
        self.detector = build_detector(self.params)

    @property
    def frames_expected(self) -> int | None:
        """Frames this run will analyse, from the probed count, `frame_skip` and `max_frames`."""
        if self.info.frame_count is None:
            return self.params.max_frames
        expected = math.ceil(self.info.frame_count / self.params.frame_skip)
        if self.params.max_frames is not None:
            expected = min(expected, self.params.max_frames)
        return max(expected, self.frames_processed)

    def frames(self) -> Iterator[FrameRecord]:
        for index, frame in read_frames(self.path, self.params.frame_skip, self.params.max_frames):
            height, width = frame.shape[:2]
            detections = [d.to_dict(width, height) for d in self.detector.detect(frame)]
            timestamp = round(index / self.info.fps, 4)
            self.builder.add(index, timestamp, detections)
            self.frames_processed += 1
            yield FrameRecord(frame_index=index, timestamp_s=timestamp, detections=detections)

    @property
    def summary(self) -> dict[str, Any]:
        return self.builder.video_summary()
