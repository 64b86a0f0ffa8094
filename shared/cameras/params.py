"""A camera's `parameters`: the camera-analytics API's names (`detection_classes`,
`enable_object_detection`, `max_fps` …) as they are, Vigil's analysis options (`detectors`,
`tracking`, `zones`, `lines`, `crowd`, plates with region and watchlist), and what only a live
source has (`detect_fps`, `stall_timeout_s`, the event policy, the live view). `job_params()`
maps them onto the JobParams the analysis engine runs; unknown keys are refused (422 naming the
field), as for jobs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.params import (
    AnyDetectorParams,
    ClassNames,
    Confidence,
    CrowdParams,
    JobParams,
    LineParams,
    MotionGateParams,
    TrackingParams,
    ZoneParams,
)

# Analysed frames per second when neither `detect_fps`, `max_fps` nor `frame_skip` says.
DEFAULT_DETECT_FPS = 5.0
# The fields the analysed rate, and so `warnings()`, depends on.
RATE_FIELDS = ("detect_fps", "max_fps", "frame_skip")
# What `enable_object_detection` turns on, and what `enable_motion_detection` and
# `enable_anpr` add.
OBJECTS, MOTION, PLATES = "objects", "motion", "plates"


class EventPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    detection: Literal["every_frame", "on_change"] = Field(
        default="every_frame",
        description="`every_frame`: a detection event for every analysed frame with detections; "
        "`on_change`: only when the set of tracked objects changes, and every `heartbeat_s`.",
    )
    heartbeat_s: float = Field(default=10.0, gt=0, le=3600)


def _bare_polygons(value: Any) -> Any:
    """A zone given as a bare list of points (`[[x, y], …]`) gets a name of its own."""
    if not isinstance(value, list | tuple):
        return value
    return [
        {"name": f"zone-{i}", "polygon": zone} if isinstance(zone, list | tuple) else zone
        for i, zone in enumerate(value, start=1)
    ]


class CameraParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    # The camera-analytics API's parameters.
    detection_classes: ClassNames | None = Field(
        default=None,
        min_length=1,
        validation_alias=AliasChoices("detection_classes", "classes"),
        description="COCO class names to report (`classes` is a synonym); all when omitted.",
    )
    confidence_threshold: Confidence = Field(default=0.25, description="Minimum score.")
    enable_object_detection: bool | None = Field(
        default=None, description="Run the `objects` detector (on unless `detectors` says)."
    )
    enable_motion_detection: bool | None = Field(
        default=None, description="Run the `motion` detector (on unless `detectors` says)."
    )
    enable_anpr: bool | None = Field(default=None, description="Read licence plates (`plates`).")
    motion_threshold: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Motion intensity (0..1) a moving frame needs for a `motion` event.",
    )
    frame_skip: int | None = Field(
        default=None, ge=1, le=1000, description="Analyse every Nth frame of the source."
    )
    max_fps: float | None = Field(
        default=None, gt=0, le=120, description="Analyse at most this many frames per second."
    )
    # Vigil's analysis options, as for jobs.
    detectors: tuple[AnyDetectorParams, ...] | None = Field(
        default=None,
        min_length=1,
        description="Detectors to run, as for jobs; the `enable_*` switches add or remove theirs.",
    )
    min_box_size: int = Field(default=0, ge=0, le=10_000)
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    zones: tuple[ZoneParams, ...] = Field(
        default=(),
        max_length=32,
        validation_alias=AliasChoices("zones", "roi_zones"),
        description="Polygons to count in (`roi_zones` is a synonym; a bare list of points is "
        "a zone too). Zones given as `roi_zones` limit detections to them.",
    )
    lines: tuple[LineParams, ...] = Field(default=(), max_length=32)
    roi_only: bool | None = Field(
        default=None, description="Drop detections outside every zone (on with `roi_zones`)."
    )
    crowd: CrowdParams = Field(default_factory=CrowdParams)
    # A camera mostly watches a still scene: the gate is on unless the camera says otherwise.
    motion_gate: MotionGateParams = Field(default_factory=lambda: MotionGateParams(enabled=True))
    # What only a live source has.
    detect_fps: float | None = Field(
        default=None,
        gt=0,
        le=60,
        description=f"Analysed frames per second ({DEFAULT_DETECT_FPS:g} when neither this, "
        "`max_fps` nor `frame_skip` is given); capped by VIGIL_CAMERA_MAX_DETECT_FPS.",
    )
    stall_timeout_s: float = Field(
        default=10.0,
        ge=2.0,
        le=600.0,
        description="No frame for this long (at least VIGIL_CAMERA_READ_TIMEOUT_S): the source "
        "is declared stalled and reopened; reads wait this long, so a source sending a frame "
        "every few seconds runs with a longer one.",
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport.")
    event_policy: EventPolicy = Field(default_factory=EventPolicy)
    live_fps: float = Field(
        default=15.0, gt=0, le=30, description="Frames per second of the live view."
    )
    live_max_height: Annotated[int, Field(ge=144, le=2160)] = Field(
        default=720, description="Height the live view is scaled down to."
    )

    @field_validator("detectors", mode="before")
    @classmethod
    def _names_to_objects(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"kind": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("zones", mode="before")
    @classmethod
    def _named_zones(cls, value: Any) -> Any:
        return _bare_polygons(value)

    @model_validator(mode="before")
    @classmethod
    def _roi_zones_limit(cls, data: Any) -> Any:
        # The camera-analytics API's `roi_zones` are regions of interest: what lies outside
        # is not reported, unless `roi_only` says otherwise.
        if isinstance(data, dict) and data.get("roi_zones") and "roi_only" not in data:
            return {**data, "roi_only": True}
        return data

    def detector_list(self) -> list[Any]:
        chosen: list[Any] = list(self.detectors) if self.detectors else []
        kinds = [d.kind for d in chosen]
        defaults = {OBJECTS: self.detectors is None, MOTION: self.detectors is None, PLATES: False}
        switches = {
            OBJECTS: self.enable_object_detection,
            MOTION: self.enable_motion_detection,
            PLATES: self.enable_anpr,
        }
        for kind, switch in switches.items():
            wanted = defaults[kind] if switch is None else switch
            if wanted and kind not in kinds:
                chosen.append({"kind": kind})
            elif switch is False and kind in kinds:
                chosen = [d for d in chosen if getattr(d, "kind", None) != kind]
        return chosen

    def job_params(self, context: dict[str, Any] | None = None) -> JobParams:
        """The analysis this camera runs, as the engine takes it. ValueError (pydantic's
        ValidationError) when the switches leave nothing to run."""
        data: dict[str, Any] = {
            "detectors": [
                d if isinstance(d, dict) else d.model_dump() for d in self.detector_list()
            ],
            "confidence_threshold": self.confidence_threshold,
            "classes": self.detection_classes,
            "min_box_size": self.min_box_size,
            "tracking": self.tracking.model_dump(),
            "zones": [z.model_dump() for z in self.zones],
            "lines": [line.model_dump() for line in self.lines],
            "roi_only": bool(self.roi_only),
            "crowd": self.crowd.model_dump(),
            "motion_gate": self.motion_gate.model_dump(),
        }
        return JobParams.model_validate(data, context=context)

    @classmethod
    def load(cls, stored: Mapping[str, Any], context: dict[str, Any]) -> CameraParams:
        """Stored parameters, validated with this server's plate regions as they were before
        being stored (`context`: `shared.configured.params_context`); without them a region of
        VIGIL_PLATE_FORMATS would be refused."""
        return cls.model_validate(stored, context=context)

    @classmethod
    def stored_warnings(cls, stored: Mapping[str, Any], cap: float) -> list[str]:
        """`warnings()` of stored parameters, from their rate fields alone: all of them were
        validated before being stored, and the rest (plate regions among it) could only be
        validated again with the server's settings."""
        rates = {name: stored[name] for name in RATE_FIELDS if name in stored}
        return cls.model_validate(rates).warnings(cap)

    def requested_fps(self) -> float | None:
        """The analysed rate asked for, before the source's own rate is known (None: it
        depends on the source: `frame_skip` alone)."""
        if self.detect_fps is not None:
            return self.detect_fps
        if self.max_fps is not None:
            return self.max_fps
        if self.frame_skip is not None:
            return None
        return DEFAULT_DETECT_FPS

    def target_fps(self, source_fps: float, cap: float) -> float:
        """Analysed frames per second for a source running at `source_fps` (0 while its rate
        is not known yet: then the rate asked for, and the default for `frame_skip` alone, which
        would otherwise be a fraction of nothing)."""
        if self.detect_fps is not None:
            wanted = self.detect_fps
        elif not source_fps:
            wanted = self.requested_fps() or DEFAULT_DETECT_FPS
        elif self.max_fps is not None or self.frame_skip is not None:
            wanted = min(self.max_fps or source_fps, source_fps / (self.frame_skip or 1))
        else:
            wanted = DEFAULT_DETECT_FPS
        return max(0.1, min(wanted, cap, source_fps or wanted))

    def warnings(self, cap: float) -> list[str]:
        """What the answer to a registration says about asks that will not be met as asked."""
        requested = self.requested_fps()
        if requested is not None and requested > cap:
            return [
                f"analysis capped at {cap:g} frames per second (asked for {requested:g}; "
                "VIGIL_CAMERA_MAX_DETECT_FPS)"
            ]
        return []
