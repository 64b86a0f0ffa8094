"""Zone occupancy and visits: which objects stand in which zone, and when tracks enter, leave
and loiter.

An object is in a zone when its anchor (bottom centre of its box) lies inside the zone's polygon
(edges included) and the zone's `classes` admit its label. Occupancy counts every such object of
the frame, tracked or not. Visits (enter, exit, dwell, loitering) need a track id, so untracked
objects only count in occupancy.

Edge jitter: a track's in/out state only changes after CONFIRM_OBSERVATIONS consecutive sightings
on the other side of the edge, so a box wobbling across the edge for a single sighting neither
leaves nor enters. The event is dated at the first of those sightings, when the move happened.

Lost tracks: a track inside a zone that has not been seen for longer than `lost_after_s` exits it
at the first update (or finish()) after that, dated at its last sighting. A track seen in the
current update is never lost, however long the gap, since with a large frame_skip consecutive
analysed frames may lie far apart. Tracks still inside at finish() are not closed: the summary
reports them as still inside, their dwell counted up to the end.

Memory: a track's standing towards a zone is forgotten once the track is lost, so it follows the
tracks in view. On a live stream, which has no summary, neither are the summary's unique
objects nor the dwell of every visit kept: only counters."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.params import ZoneParams, polygon_area
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.analysers.geometry import point_in_polygon
from worker.engine.context import FrameContext, FrameObject, StreamContext
from worker.engine.outputs import TimelineEvent

CONFIRM_OBSERVATIONS = 2


@dataclass(frozen=True, slots=True)
class _Sighting:
    frame_index: int
    timestamp: float


@dataclass(slots=True)
class _Visit:
    entered: _Sighting
    loitered: bool = False


@dataclass(slots=True)
class _Presence:
    """One track's standing towards one zone."""

    label: str
    last_seen: _Sighting
    visit: _Visit | None = None
    # The first of a run of consecutive sightings that contradict the current state.
    contrary_since: _Sighting | None = None
    contrary_count: int = 0

    def observe(self, inside: bool, now: _Sighting) -> _Sighting | None:
        """Records a sighting; once enough consecutive ones contradict the state, returns when
        that run began (the state change is then the caller's to make), else None."""
        self.last_seen = now
        if inside == (self.visit is not None):
            self.contrary_since, self.contrary_count = None, 0
            return None
        since = self.contrary_since or now
        self.contrary_count += 1
        if self.contrary_count < CONFIRM_OBSERVATIONS:
            self.contrary_since = since
            return None
        self.contrary_since, self.contrary_count = None, 0
        return since


@dataclass(slots=True)
class _ZoneStats:
    area: float
    entries: int = 0
    exits: int = 0
    entries_by_class: Counter[str] = field(default_factory=Counter)
    track_ids: set[int] = field(default_factory=set)
    loitering_events: int = 0
    completed_dwells: list[float] = field(default_factory=list)
    occupancy_total: int = 0
    max_occupancy: int = 0
    max_occupancy_at: _Sighting | None = None

    def add_occupancy(self, count: int, now: _Sighting) -> None:
        self.occupancy_total += count
        if self.max_occupancy_at is None or count > self.max_occupancy:
            self.max_occupancy, self.max_occupancy_at = count, now


@dataclass(slots=True)
class ZoneFrame:
    """One frame's zone analytics."""

    membership: dict[int, list[str]]  # object index -> zones holding its anchor
    occupancy: dict[str, dict[str, Any]]  # zone -> {"count": n, "by_class": {label: n}}
    events: list[TimelineEvent]


def _admits(zone: ZoneParams, label: str) -> bool:
    return zone.classes is None or label in zone.classes


def _event(type_: str, at: _Sighting, now: _Sighting, data: dict[str, Any]) -> TimelineEvent:
    return TimelineEvent(
        type=type_,
        frame_index=at.frame_index,
        timestamp=at.timestamp,
        emitted_frame_index=now.frame_index,
        emitted_at=now.timestamp,
        data=data,
    )


class ZoneMonitor:
    """Follows objects through zones frame by frame; see the module docstring for the rules."""

    def __init__(
        self, zones: Sequence[ZoneParams], lost_after_s: float = 2.0, *, live: bool = False
    ) -> None:
        self._zones = tuple(zones)
        self._lost_after_s = lost_after_s
        self._live = live
        self._stats = {zone.name: _ZoneStats(area=polygon_area(zone.polygon)) for zone in zones}
        self._presences: dict[tuple[int, str], _Presence] = {}
        # Completed visits' dwell per track and zone, for the per-track summaries.
        self._track_dwell: dict[int, defaultdict[str, float]] = {}
        self._frames = 0
        self._latest_s: float | None = None  # the last update's or finish()'s timestamp

    def update(
        self, frame_index: int, timestamp: float, objects: Sequence[FrameObject]
    ) -> ZoneFrame:
        now = _Sighting(frame_index, timestamp)
        self._latest_s = timestamp
        self._frames += 1
        membership = {obj.index: self._zones_holding(obj) for obj in objects}
        occupancy = {
            zone.name: self._occupancy(zone, objects, membership, now) for zone in self._zones
        }
        events: list[TimelineEvent] = []
        for obj in objects:
            if obj.track_id is None:
                continue
            for zone in self._zones:
                if _admits(zone, obj.label):
                    key = (obj.track_id, zone.name)
                    inside = zone.name in membership[obj.index]
                    events += self._observe(key, zone, obj.label, inside, now)
        # After the sightings, which refresh last_seen: a track seen now is never lost.
        events += self._expire(now)
        events.sort(key=lambda event: event.timestamp)
        return ZoneFrame(membership=membership, occupancy=occupancy, events=events)

    def finish(self, frame_index: int, timestamp: float) -> list[TimelineEvent]:
        """Closes the visits of tracks lost before the end; those still inside stay open."""
        self._latest_s = timestamp
        now = _Sighting(frame_index, timestamp)
        return sorted(self._expire(now), key=lambda event: event.timestamp)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per zone totals, JSON-ready; ongoing visits count with their dwell so far."""
        return {zone.name: self._zone_summary(zone.name) for zone in self._zones}

    def _zones_holding(self, obj: FrameObject) -> list[str]:
        return [
            zone.name
            for zone in self._zones
            if _admits(zone, obj.label) and point_in_polygon(obj.anchor, zone.polygon)
        ]

    def _occupancy(
        self,
        zone: ZoneParams,
        objects: Sequence[FrameObject],
        membership: dict[int, list[str]],
        now: _Sighting,
    ) -> dict[str, Any]:
        by_class = Counter(obj.label for obj in objects if zone.name in membership[obj.index])
        count = sum(by_class.values())
        self._stats[zone.name].add_occupancy(count, now)
        return {"count": count, "by_class": dict(sorted(by_class.items()))}

    def _observe(
        self, key: tuple[int, str], zone: ZoneParams, label: str, inside: bool, now: _Sighting
    ) -> list[TimelineEvent]:
        presence = self._presences.setdefault(key, _Presence(label=label, last_seen=now))
        presence.label = label
        changed_at = presence.observe(inside, now)
        events: list[TimelineEvent] = []
        if changed_at is not None:
            visit = presence.visit
            if visit is None:
                events.append(self._enter(key, presence, changed_at, now))
            else:
                events.append(self._exit(key, presence, visit, changed_at, now, reason="left"))
        return events + self._check_loitering(key, zone, presence, now)

    def _enter(
        self, key: tuple[int, str], presence: _Presence, at: _Sighting, now: _Sighting
    ) -> TimelineEvent:
        track_id, zone_name = key
        presence.visit = _Visit(entered=at)
        stats = self._stats[zone_name]
        stats.entries += 1
        stats.entries_by_class[presence.label] += 1
        if not self._live:
            stats.track_ids.add(track_id)
        data = {"zone": zone_name, "track_id": track_id, "label": presence.label}
        return _event("zone_enter", at, now, data)

    def _exit(
        self,
        key: tuple[int, str],
        presence: _Presence,
        visit: _Visit,
        at: _Sighting,
        now: _Sighting,
        reason: str,
    ) -> TimelineEvent:
        track_id, zone_name = key
        dwell = max(0.0, at.timestamp - visit.entered.timestamp)
        presence.visit = None
        stats = self._stats[zone_name]
        stats.exits += 1
        if not self._live:
            stats.completed_dwells.append(dwell)
            self._track_dwell.setdefault(track_id, defaultdict(float))[zone_name] += dwell
        data = {
            "zone": zone_name,
            "track_id": track_id,
            "label": presence.label,
            "dwell_s": round(dwell, 3),
            "reason": reason,
        }
        return _event("zone_exit", at, now, data)

    def _check_loitering(
        self, key: tuple[int, str], zone: ZoneParams, presence: _Presence, now: _Sighting
    ) -> list[TimelineEvent]:
        visit = presence.visit
        if visit is None or visit.loitered or zone.loiter_seconds is None:
            return []
        dwell = now.timestamp - visit.entered.timestamp
        if dwell < zone.loiter_seconds:
            return []
        visit.loitered = True
        self._stats[zone.name].loitering_events += 1
        track_id, _ = key
        data = {
            "zone": zone.name,
            "track_id": track_id,
            "label": presence.label,
            "dwell_s": round(dwell, 3),
        }
        return [_event("loitering", now, now, data)]

    def _expire(self, now: _Sighting) -> list[TimelineEvent]:
        events: list[TimelineEvent] = []
        for key, presence in list(self._presences.items()):
            if now.timestamp - presence.last_seen.timestamp <= self._lost_after_s:
                continue
            if presence.visit is not None:
                events.append(
                    self._exit(
                        key, presence, presence.visit, presence.last_seen, now, reason="lost"
                    )
                )
            # Forgotten once lost, inside or not, so memory follows the live tracks only.
            del self._presences[key]
        return events

    def _ongoing(self) -> list[tuple[tuple[int, str], float]]:
        """(track, zone) of each visit still open, with its dwell so far."""
        now = self._latest_s or 0.0
        return [
            (key, max(0.0, now - presence.visit.entered.timestamp))
            for key, presence in self._presences.items()
            if presence.visit is not None
        ]

    def dwell_by_track(self) -> dict[int, dict[str, float]]:
        """Seconds each track spent in each zone over all its visits, ongoing ones so far."""
        dwell = {track_id: defaultdict(float, z) for track_id, z in self._track_dwell.items()}
        for (track_id, zone_name), seconds in self._ongoing():
            dwell.setdefault(track_id, defaultdict(float))[zone_name] += seconds
        return {
            track_id: {zone: round(s, 3) for zone, s in zones.items()}
            for track_id, zones in dwell.items()
        }

    def _zone_summary(self, name: str) -> dict[str, Any]:
        stats = self._stats[name]
        ongoing = [seconds for (_, zone_name), seconds in self._ongoing() if zone_name == name]
        dwells = stats.completed_dwells + ongoing
        peak_at = stats.max_occupancy_at
        return {
            "area": round(stats.area, 4),
            "entries": stats.entries,
            "exits": stats.exits,
            "unique_objects": len(stats.track_ids),
            "by_class": dict(sorted(stats.entries_by_class.items())),
            "max_occupancy": stats.max_occupancy,
            "max_occupancy_frame_index": peak_at.frame_index if peak_at else None,
            "max_occupancy_timestamp": round(peak_at.timestamp, 3) if peak_at else None,
            "mean_occupancy": round(stats.occupancy_total / self._frames, 3)
            if self._frames
            else 0.0,
            "mean_dwell_s": round(sum(dwells) / len(dwells), 3) if dwells else 0.0,
            "max_dwell_s": round(max(dwells), 3) if dwells else 0.0,
            "loitering_events": stats.loitering_events,
            "still_inside": len(ongoing),
        }


class ZonesAnalyser(Analyser):
    """Places each object in the zones holding it; with `roi_only`, what lies outside every
    zone leaves the frame's record."""

    def __init__(self, monitor: ZoneMonitor, roi_only: bool) -> None:
        self.monitor = monitor
        self.roi_only = roi_only

    def observe(self, ctx: FrameContext) -> None:
        zone_frame = self.monitor.update(ctx.frame_index, ctx.timestamp, ctx.objects())
        for index, zones in zone_frame.membership.items():
            ctx.observations[index].zones = zones
        if self.roi_only:
            for observation in ctx.observations:
                observation.kept = bool(observation.zones)
        ctx.zoned = True
        ctx.metrics["zones"] = zone_frame.occupancy
        ctx.events += zone_frame.events

    def flush(self, ctx: StreamContext) -> None:
        ctx.events += self.monitor.finish(ctx.frame_index, ctx.timestamp)

    def summarise(self, summary: dict[str, Any]) -> None:
        dwell = self.monitor.dwell_by_track()
        for track in summary.get("tracks", []):
            track["zone_dwell_s"] = dwell.get(track["track_id"], {})
        summary["zones"] = self.monitor.summary()


def build(stream: Stream) -> ZonesAnalyser | None:
    zones = stream.params.zones
    if not zones:
        return None
    return ZonesAnalyser(ZoneMonitor(zones, live=stream.live), stream.params.roi_only)
