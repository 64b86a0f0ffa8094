"""Crowd metrics per analysed frame: people count, named crowd level, density in the frame and
in each zone, level changes as events, and peaks and time per level for the summary.

Densities are people per unit of normalised area: the whole frame has area 1.0, so the frame
density equals the count, and a zone covering a quarter of the frame holding 3 people has a
density of 12 — comparable between zones of different sizes, not people per square metre."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.params import CrowdParams, ZoneParams, polygon_area
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.context import FrameContext
from worker.engine.outputs import TimelineEvent


@dataclass(slots=True)
class CrowdFrame:
    """One frame's crowd analytics."""

    metrics: dict[str, Any]  # people_count, crowd_level, density, zone_density
    events: list[TimelineEvent]


@dataclass(slots=True)
class _Peak:
    people: int = 0
    frame_index: int | None = None
    timestamp: float | None = None

    def offer(self, people: int, frame_index: int, timestamp: float) -> None:
        # The first frame to reach the maximum keeps it.
        if self.frame_index is None or people > self.people:
            self.people, self.frame_index, self.timestamp = people, frame_index, timestamp


@dataclass(slots=True)
class _Previous:
    timestamp: float
    level: str | None


@dataclass(slots=True)
class _CrowdStats:
    frames: int = 0
    people_total: int = 0
    peak: _Peak = field(default_factory=_Peak)
    zone_peaks: dict[str, _Peak] = field(default_factory=dict)
    level_seconds: dict[str, float] = field(default_factory=dict)
    last_interval: float = 0.0


class CrowdMonitor:
    """Crowd level and density, frame by frame."""

    def __init__(self, params: CrowdParams, zones: Sequence[ZoneParams]) -> None:
        # CrowdParams sorts its levels by min_people, so the last one reached is the highest.
        self._levels = params.levels
        self._zone_areas = {zone.name: polygon_area(zone.polygon) for zone in zones}
        self._stats = _CrowdStats(
            zone_peaks={name: _Peak() for name in self._zone_areas},
            level_seconds={level.name: 0.0 for level in params.levels},
        )
        self._previous: _Previous | None = None

    def update(
        self, frame_index: int, timestamp: float, people: int, zone_people: dict[str, int]
    ) -> CrowdFrame:
        """`zone_people`: people per zone this frame; zones left out hold nobody, and names that
        are not configured zones are ignored."""
        level = self._level(people)
        events = self._track_level(frame_index, timestamp, people, level)
        stats = self._stats
        stats.frames += 1
        stats.people_total += people
        stats.peak.offer(people, frame_index, timestamp)
        zone_density: dict[str, float] = {}
        for name, area in self._zone_areas.items():
            count = zone_people.get(name, 0)
            stats.zone_peaks[name].offer(count, frame_index, timestamp)
            zone_density[name] = round(count / area, 3)
        metrics = {
            "people_count": people,
            "crowd_level": level,
            "density": float(people),
            "zone_density": zone_density,
        }
        return CrowdFrame(metrics=metrics, events=events)

    def summary(self) -> dict[str, Any]:
        """Peaks, mean people per analysed frame, and seconds spent at each level: each frame's
        level lasts until the next analysed frame, the last one for the previous interval."""
        stats = self._stats
        levels = dict(stats.level_seconds)
        if self._previous is not None and self._previous.level is not None:
            levels[self._previous.level] += stats.last_interval
        peak = stats.peak
        return {
            "peak_people": peak.people,
            "peak_frame_index": peak.frame_index,
            "peak_timestamp": _rounded(peak.timestamp),
            "mean_people": round(stats.people_total / stats.frames, 3) if stats.frames else 0.0,
            "levels": {name: round(seconds, 3) for name, seconds in levels.items()},
            "zone_peaks": {
                name: {
                    "peak_people": zone_peak.people,
                    "peak_density": round(zone_peak.people / self._zone_areas[name], 3),
                    "timestamp": _rounded(zone_peak.timestamp),
                }
                for name, zone_peak in stats.zone_peaks.items()
            },
        }

    def _level(self, people: int) -> str | None:
        """The highest level whose min_people the count reaches; None below the lowest one."""
        reached = [level.name for level in self._levels if level.min_people <= people]
        return reached[-1] if reached else None

    def _track_level(
        self, frame_index: int, timestamp: float, people: int, level: str | None
    ) -> list[TimelineEvent]:
        previous = self._previous
        self._previous = _Previous(timestamp=timestamp, level=level)
        if previous is None:
            return []
        interval = max(0.0, timestamp - previous.timestamp)
        self._stats.last_interval = interval
        if previous.level is not None:
            self._stats.level_seconds[previous.level] += interval
        if level == previous.level:
            return []
        data = {"from": previous.level, "to": level, "people_count": people}
        return [
            TimelineEvent(
                type="crowd_level_changed",
                frame_index=frame_index,
                timestamp=timestamp,
                emitted_frame_index=frame_index,
                emitted_at=timestamp,
                data=data,
            )
        ]


def _rounded(timestamp: float | None) -> float | None:
    return round(timestamp, 3) if timestamp is not None else None


class CrowdAnalyser(Analyser):
    def __init__(self, monitor: CrowdMonitor) -> None:
        self.monitor = monitor

    def observe(self, ctx: FrameContext) -> None:
        people = [o for o in ctx.objects() if o.label == "person"]
        zone_people = Counter(
            zone for person in people for zone in ctx.observations[person.index].zones
        )
        crowd = self.monitor.update(ctx.frame_index, ctx.timestamp, len(people), zone_people)
        ctx.metrics.update(crowd.metrics)
        ctx.events += crowd.events

    def summarise(self, summary: dict[str, Any]) -> None:
        summary["crowd"] = self.monitor.summary()


def build(stream: Stream) -> CrowdAnalyser:
    return CrowdAnalyser(CrowdMonitor(stream.params.crowd, stream.params.zones))
