"""What every analyser implements, and what each is built from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from shared.params import JobParams
from worker.engine.context import FrameContext, StreamContext
from worker.engine.outputs import WatchEntry

# What a stream's analysers keep: everything its summary needs (`summary`: a file, which ends),
# or only what its frame results need (`live`: a camera, which runs for days).
Retain = Literal["summary", "live"]


@dataclass(frozen=True)
class Stream:
    """One stream's settings, for the analyser factories: the job's (or camera's) params,
    whether the frames form a video (images have no time axis), the rate frames are analysed
    at, the owner's watchlist and what the analysers retain."""

    params: JobParams
    video: bool
    analysed_fps: float
    watchlist: tuple[WatchEntry, ...]
    retain: Retain

    @property
    def tracked(self) -> bool:
        return self.video and self.params.tracking.enabled

    @property
    def live(self) -> bool:
        return self.retain == "live"


class Analyser(ABC):
    """Follows one stream: built for each pipeline, it keeps what that stream's frames left
    behind. The pipeline calls every analyser in registry order at each step; `observe` is
    the one every analyser has, the other steps do nothing unless overridden.

    On a live stream (`Stream.live`) an analyser keeps only what later frame results depend
    on, so that its memory stays bounded however long the stream runs: an object's state until
    the object is gone for good (a track in `FrameContext.gone`, say), counters for the rest.
    Its frame results are the same as on a summarised stream; `summarise` is never called."""

    def detect(self, ctx: FrameContext) -> None:  # noqa: B027
        """Boxes this analyser finds in the frame itself, reported with `ctx.report` before the
        frame's detections are merged (motion's moving regions)."""

    @abstractmethod
    def observe(self, ctx: FrameContext) -> None:
        """Reads the merged observations and adds to `ctx` what this frame makes known."""

    def flush(self, ctx: StreamContext) -> None:  # noqa: B027
        """The stream has ended: adds to `ctx` what only its end settles."""

    def summarise(self, summary: dict[str, Any]) -> None:  # noqa: B027
        """Adds this analyser's part to the stream's summary, in which the earlier analysers'
        parts already are (zones completes each of tracking's tracks with its dwell)."""


AnalyserFactory = Callable[[Stream], Analyser | None]
