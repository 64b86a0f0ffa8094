"""Where a pipeline's frames come from: a video file or an image. Each gives `Frame`s in order,
decoded once; a live camera's source lives with the camera runner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from shared.settings import get_settings
from worker.errors import MediaError
from worker.video.probe import VideoInfo, check_limits, probe_video
from worker.video.reader import read_frames


@dataclass(frozen=True, slots=True)
class Frame:
    index: int  # in the stream, skipped frames included
    timestamp: float  # seconds from the stream's start
    image: np.ndarray  # BGR


class FileSource:
    """A video file, probed and checked against the server's limits before any frame is
    decoded; then every `frame_skip`-th frame, at most `max_frames`, timed by the probed fps."""

    def __init__(self, path: Path, frame_skip: int = 1, max_frames: int | None = None) -> None:
        self.path = path
        self.frame_skip = frame_skip
        self.max_frames = max_frames
        self.info: VideoInfo = probe_video(path)
        check_limits(self.info, frame_skip, max_frames)

    @property
    def analysed_fps(self) -> float:
        """Frames given per second of video."""
        return self.info.fps / self.frame_skip

    def frames(self) -> Iterator[Frame]:
        settings = get_settings()
        for index, image in read_frames(
            self.path,
            self.frame_skip,
            self.max_frames,
            max_pixels=settings.max_video_pixels,
            max_decoded=settings.max_video_frames,
        ):
            yield Frame(index, round(index / self.info.fps, 4), image)


class ImageSource:
    """An image file: one frame at time 0."""

    def __init__(self, path: Path) -> None:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError("could not decode image")
        self.frame = Frame(0, 0.0, image)

    def frames(self) -> Iterator[Frame]:
        yield self.frame
