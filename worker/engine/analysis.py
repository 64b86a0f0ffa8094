"""The analysis of one image or video file, free of queues and databases: the Celery tasks,
the benchmarks and `vigil analyze` all run it. A file job is a source, a pipeline and sinks:
`FileSource` (or `ImageSource`) → `Pipeline` → `JobSink` (and the annotated output)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.params import JobParams
from shared.repositories.jobs import FrameRecord
from shared.settings import get_settings
from worker.annotate import encode_jpeg
from worker.detectors.models import describe_model
from worker.engine.outputs import WatchEntry
from worker.engine.pipeline import Pipeline
from worker.engine.sinks import AnnotatedVideoSink, JobSink, annotated
from worker.engine.sources import FileSource, Frame, ImageSource
from worker.video.ahead import read_ahead
from worker.video.probe import VideoInfo

# Frames whose inference runs while the one before them is tracked and recorded: as many as
# the engine has requests, so that neither of its streams waits.
IN_FLIGHT = 2


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
    frame = ImageSource(path).frame
    height, width = frame.image.shape[:2]
    pipeline = Pipeline(params, video=False, watchlist=watchlist)
    sink = JobSink()
    result = pipeline.process(frame.index, frame.timestamp, frame.image)
    sink.add(result)
    sink.add(pipeline.flush())
    jpeg = encode_jpeg(annotated(frame.image, result, params)) if params.annotate else None
    return ImageAnalysis(
        width=width,
        height=height,
        detections=result.detections,
        metrics=result.metrics,
        summary=sink.summary(pipeline),
        processing_time=round(time.perf_counter() - started, 4),
        annotated_jpeg=jpeg,
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
        self.source = FileSource(self.path, self.params.frame_skip, self.params.max_frames)
        self.info = self.source.info
        self.pipeline = Pipeline(
            self.params, video=True, analysed_fps=self.analysed_fps, watchlist=self.watchlist
        )
        self.sink = JobSink()

    @property
    def analysed_fps(self) -> float:
        """Frames analysed per second of video: the annotated MP4's frame rate too."""
        return self.source.analysed_fps

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
        """The summary is complete once this is exhausted: the end of the video settles the
        last events."""
        writer = (
            AnnotatedVideoSink(self.annotated_to, self.analysed_fps, self.params)
            if self.annotated_to is not None
            else None
        )
        try:
            # Closed explicitly, so that stopping early stops the decoding thread at once.
            with closing(self._in_flight()) as frames:
                for frame in frames:
                    result = self.pipeline.process(frame.index, frame.timestamp, frame.image)
                    self.sink.add(result)
                    if writer is not None:
                        writer.add(frame.image, result)
                    self.frames_processed += 1
                    yield FrameRecord(
                        frame.index, frame.timestamp, result.detections, result.metrics
                    )
            self.sink.add(self.pipeline.flush())
            if writer is not None:
                self.annotated_codec = writer.close()
                writer = None
        finally:
            if writer is not None:
                writer.abort()

    def _in_flight(self) -> Generator[Frame]:
        """The source's frames, decoded in a thread ahead of the analysis, each handed over
        once the IN_FLIGHT frames after it have started inferring."""
        waiting: deque[Frame] = deque()
        try:
            with closing(read_ahead(self.source.frames())) as decoded:
                for frame in decoded:
                    self.pipeline.prefetch(frame.timestamp, frame.image)
                    waiting.append(frame)
                    if len(waiting) > IN_FLIGHT:
                        yield waiting.popleft()
            while waiting:
                yield waiting.popleft()
        finally:
            # Stopped early (cancelled, failed): the frames started ahead are let go.
            for frame in waiting:
                self.pipeline.discard(frame.image)

    @property
    def summary(self) -> dict[str, Any]:
        return self.sink.summary(self.pipeline)
