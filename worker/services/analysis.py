"""The analysis of one image or video, free of queues and databases: the Celery tasks, the
benchmarks and `vigil analyze` all run it. A video is decoded once, frame by frame, and every
detector sees the same decoded frame."""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from shared.params import JobParams
from shared.repositories.jobs import FrameRecord
from shared.settings import get_settings
from worker.annotate import draw_frame, encode_jpeg
from worker.anpr.monitor import WatchEntry
from worker.detectors.models import describe_model
from worker.errors import MediaError
from worker.services.pipeline import FrameOutput, FramePipeline
from worker.video.probe import VideoInfo, check_limits, probe_video
from worker.video.reader import read_frames
from worker.video.writer import AnnotatedVideoWriter


def model_summary() -> dict[str, Any]:
    info = describe_model(get_settings().model_name)
    return {
        "name": info.name,
        "format": info.format,
        "version": info.version,
        "sha256": info.sha256,
        "classes": len(info.classes) if info.classes else None,
    }


def _overlay(metrics: dict[str, Any]) -> list[str]:
    parts = [f"people {metrics.get('people_count', 0)}"]
    if "crowd_level" in metrics:
        parts.append(f"crowd {metrics['crowd_level']}")
    motion = metrics.get("motion")
    if motion:
        parts.append(f"motion {motion['affected_area_percentage']:.1f}%")
    return [" | ".join(parts)]


def _annotate(frame: np.ndarray, output: FrameOutput, params: JobParams) -> np.ndarray:
    return draw_frame(
        frame, output.detections, params.zones, params.lines, _overlay(output.metrics)
    )


@dataclass
class ImageAnalysis:
    width: int
    height: int
    detections: list[dict[str, Any]]
    metrics: dict[str, Any]
    summary: dict[str, Any]
    processing_time: float
    annotated_jpeg: bytes | None

    @property
    def frame(self) -> FrameRecord:
        return FrameRecord(
            frame_index=0, timestamp_s=0.0, detections=self.detections, metrics=self.metrics
        )


def analyze_image(
    path: Path, params: JobParams, watchlist: Sequence[WatchEntry] = ()
) -> ImageAnalysis:
    started = time.perf_counter()
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError("could not decode image")
    height, width = image.shape[:2]
    pipeline = FramePipeline(params, video=False, watchlist=watchlist)
    output = pipeline.process(0, 0.0, image)
    pipeline.finish()
    summary = {**pipeline.builder.image_summary(), **pipeline.analytics_summary()}
    annotated = encode_jpeg(_annotate(image, output, params)) if params.annotate else None
    return ImageAnalysis(
        width=width,
        height=height,
        detections=output.detections,
        metrics=output.metrics,
        summary=summary,
        processing_time=round(time.perf_counter() - started, 4),
        annotated_jpeg=annotated,
    )


@dataclass
class VideoAnalysis:
    """One pass over a video: iterate `frames()`, then read `summary`. With `annotated_to`,
    the annotated MP4 is written there as the frames go by (same decode)."""

    path: Path
    params: JobParams
    annotated_to: Path | None = None
    watchlist: Sequence[WatchEntry] = ()
    info: VideoInfo = field(init=False)
    frames_processed: int = 0
    annotated_codec: str | None = None

    def __post_init__(self) -> None:
        self.info = probe_video(self.path)
        check_limits(self.info, self.params.frame_skip, self.params.max_frames)
        self.pipeline = FramePipeline(
            self.params, video=True, analysed_fps=self.analysed_fps, watchlist=self.watchlist
        )

    @property
    def analysed_fps(self) -> float:
        """Frames analysed per second of video: the annotated MP4's frame rate too."""
        return self.info.fps / self.params.frame_skip

    @property
    def frames_expected(self) -> int | None:
        """Frames this run will analyse, from the probed count, `frame_skip` and `max_frames`."""
        if self.info.frame_count is None:
            return self.params.max_frames
        expected = math.ceil(self.info.frame_count / self.params.frame_skip)
        if self.params.max_frames is not None:
            expected = min(expected, self.params.max_frames)
        return max(expected, self.frames_processed)

    def frames(self) -> Generator[FrameRecord]:
        writer: AnnotatedVideoWriter | None = None
        try:
            settings = get_settings()
            for index, frame in read_frames(
                self.path,
                self.params.frame_skip,
                self.params.max_frames,
                max_pixels=settings.max_video_pixels,
                max_decoded=settings.max_video_frames,
            ):
                timestamp = round(index / self.info.fps, 4)
                output = self.pipeline.process(index, timestamp, frame)
                if self.annotated_to is not None:
                    if writer is None:
                        writer = self._open_writer(frame)
                    writer.write(_annotate(frame, output, self.params))
                self.frames_processed += 1
                yield FrameRecord(index, timestamp, output.detections, output.metrics)
            self.pipeline.finish()
            if writer is not None:
                writer.close()
                self.annotated_codec = writer.codec
                writer = None
        finally:
            if writer is not None:
                writer.abort()

    def _open_writer(self, frame: np.ndarray) -> AnnotatedVideoWriter:
        assert self.annotated_to is not None
        height, width = frame.shape[:2]
        return AnnotatedVideoWriter(self.annotated_to, self.analysed_fps, width, height)

    @property
    def summary(self) -> dict[str, Any]:
        return {**self.pipeline.builder.video_summary(), **self.pipeline.analytics_summary()}
