"""One stream, frame by frame: every selected detector on the same decoded frame, overlapping
boxes from different detectors merged, then the stream's analysers (tracking, zones, lines,
crowd, motion, plates), then the frame's result. Images are a one-frame stream.

The API, the same for a file job and a live camera:

    pipeline = Pipeline(params, video=True, analysed_fps=5.0, watchlist=entries)
    pipeline.prefetch(next_timestamp, next_frame)  # optional: start a later frame's inference
    result = pipeline.process(frame_index, timestamp, frame)  # per analysed frame, in order
    result.detections  # the frame's public records (list of dicts, DetectionRead's shape)
    result.metrics     # zones, crowd, motion
    result.events      # TimelineEvents that became known in this frame
    result.matches     # WatchMatches of the plates settled in this frame
    result.plates      # PlateSettled: vehicles whose plate became known in this frame
    pipeline.flush()   # a FrameResult of what only the end settles (no detections)
    pipeline.summary() # frame statistics and the analysers' summaries, events excepted

A pipeline holds one stream's state (its analysers are built for it) and shares its detectors,
which are stateless, with every other pipeline of the process; streams may take turns in one
thread.

`retain` says what that state is for. A file job's pipeline (`"summary"`, the default) keeps
everything its summary needs: every track, the per-second statistics, each vehicle's readings.
A live camera's (`"live"`) runs for days and keeps only what later frame results depend on:
an object's state until it is gone for good (its track lost beyond stitching and forgotten by
the tracker, its plate announced), counters otherwise, no statistics; its memory does not grow
with the stream. Every `process` result is the same in both modes. A live pipeline has no
`summary()`, and its `flush()` settles what is pending (zone exits, the last motion segment,
plates not yet announced) without the summary's merged `plate_read` and `watchlist_match`
events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shared.params import JobParams
from worker.detectors.base import Detection
from worker.detectors.registry import build_detectors, merge_order
from worker.engine.analysers.base import Retain, Stream
from worker.engine.analysers.registry import build_analysers
from worker.engine.context import FrameContext, StreamContext
from worker.engine.gate import MotionGate
from worker.engine.outputs import FrameResult, WatchEntry
from worker.engine.summary import SummaryBuilder


class Pipeline:
    """`video` turns on tracking (images have no time axis); `analysed_fps` is the rate frames
    reach `process` at; `watchlist` is the owner's, for plate matches; `retain`: see the module
    docstring."""

    def __init__(
        self,
        params: JobParams,
        *,
        video: bool,
        analysed_fps: float = 1.0,
        watchlist: Sequence[WatchEntry] = (),
        retain: Retain = "summary",
    ) -> None:
        order = merge_order(params)
        self.kinds = [config.kind for config in order]
        self.detectors = build_detectors(order)
        # The whole-frame models behind the detectors, each once (objects and people share one).
        self.models = list({id(m): m for d in self.detectors if (m := d.frame_model)}.values())
        stream = Stream(params, video, analysed_fps, tuple(watchlist), retain)
        self.analysers = build_analysers(stream)
        self.video = video
        # Only a video has a previous frame to carry boxes over from.
        self.gate = MotionGate(params.motion_gate) if video and params.motion_gate.enabled else None
        self._decided: dict[int, tuple[np.ndarray, bool]] = {}
        self._carried: list[list[Detection]] = []
        # Only a summary reads the statistics, whose per-second rows grow with the stream.
        self.stats = None if stream.live else SummaryBuilder()
        self._last: tuple[int, float] = (0, 0.0)

    def prefetch(self, timestamp: float, frame: np.ndarray) -> None:
        """Start the models' inference on a frame `process` will be given soon: a video loop
        calls it, in order, for the frames after the current one, so that they infer while it
        is tracked and recorded. A frame the motion gate carries over starts nothing."""
        if self.gate is not None:
            detect = self.gate.decide(timestamp, frame)
            self._decided[id(frame)] = (frame, detect)
            if not detect:
                return
        for model in self.models:
            model.submit(frame)

    def discard(self, frame: np.ndarray) -> None:
        """A prefetched frame that will not be processed (the job stopped, a camera's frame
        went stale): its inference result and gate decision are let go."""
        self._decided.pop(id(frame), None)
        for model in self.models:
            model.release(frame)

    def _detects(self, timestamp: float, frame: np.ndarray) -> bool:
        if self.gate is None:
            return True
        decided = self._decided.pop(id(frame), None)
        if decided is not None and decided[0] is frame:
            return decided[1]
        return self.gate.decide(timestamp, frame)

    def process(self, frame_index: int, timestamp: float, frame: np.ndarray) -> FrameResult:
        ctx = FrameContext(frame_index, timestamp, frame, self.kinds)
        # Nothing to carry yet (the detectors failed on the frame the gate last chose): detect.
        detects = self._detects(timestamp, frame) or len(self._carried) != len(self.detectors)
        if detects:
            try:
                self._carried = [detector.detect(frame) for detector in self.detectors]
            finally:
                for model in self.models:
                    model.release(frame)
        for detector, found in zip(self.detectors, self._carried, strict=True):
            ctx.report(detector.kind, found, detector.role)
        for analyser in self.analysers:
            analyser.detect(ctx)
        ctx.merge()
        for analyser in self.analysers:
            analyser.observe(ctx)
        if self.gate is not None:
            ctx.metrics["inference"] = "detected" if detects else "carried"
        records = ctx.records()
        if self.stats is not None:
            # Moving regions are measurements, not objects: they stay out of the object counts.
            objects = [r for o, r in records if o.role != "measurement"]
            self.stats.add(frame_index, timestamp, objects)
        self._last = (frame_index, timestamp)
        return ctx.result([record for _, record in records], ctx.metrics)

    def flush(self) -> FrameResult:
        """The end of the stream, dated at its last frame."""
        ctx = StreamContext(*self._last)
        for analyser in self.analysers:
            analyser.flush(ctx)
        return ctx.result([], {})

    def summary(self) -> dict[str, Any]:
        if self.stats is None:
            raise RuntimeError("a live pipeline keeps no summary")
        summary = self.stats.video_summary() if self.video else self.stats.image_summary()
        summary["detectors"] = list(self.kinds)
        for analyser in self.analysers:
            analyser.summarise(summary)
        if self.gate is not None:
            summary["motion_gate"] = self.gate.summary()
        return summary
