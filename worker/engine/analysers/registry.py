"""The analysers a pipeline builds, in the order they see each frame. The order is the data
flow: track ids before the zones and lines that follow tracks; zones (with `roi_only`, which
drops what lies outside them) before lines and crowd count what is left; plates read the
vehicles kept. It is also the order of a frame's events and metrics, and of the events at
the end of the stream (zones, motion, plates), which the job summary's timeline keeps where
events share a time."""

from __future__ import annotations

from worker.engine.analysers import crowd, lines, motion, plates, tracking, zones
from worker.engine.analysers.base import Analyser, AnalyserFactory, Stream

ANALYSERS: tuple[AnalyserFactory, ...] = (
    tracking.build,
    zones.build,
    lines.build,
    crowd.build,
    motion.build,
    plates.build,
)


def build_analysers(stream: Stream) -> list[Analyser]:
    """Fresh analysers for one stream: those its params ask for."""
    return [analyser for build in ANALYSERS if (analyser := build(stream)) is not None]
