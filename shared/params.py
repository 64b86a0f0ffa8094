"""Per-job analysis parameters: which detectors run and with what settings, tracking, zones,
lines, crowd levels and annotated output. The API validates them (422 naming the field) and
the worker builds its detectors from them, so both sides share these schemas; the detector
plugins in worker/detectors/plugins/ take their config class from here."""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, cast

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.contracts import COCO_CLASSES
from shared.plates import DEFAULT_PLATE_FORMATS, PlateFormats, configured_formats

# The validation context's key for the plate regions a job may name: the server's, which
# `validation_context` gives; the built-in ones when validation is given no context.
PLATE_REGIONS = "plate_regions"

# The vehicle types the `vehicles` detector reports (COCO names).
VEHICLE_TYPES: tuple[str, ...] = ("car", "truck", "motorcycle", "bus", "bicycle")

Confidence = Annotated[float, Field(ge=0.1, le=0.9)]
Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


class _Frozen(BaseModel):
    # Frozen and tuple-valued: equal configs hash alike, so a worker shares one detector instance.
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class DetectorParams(_Frozen):
    kind: str


class _BoxDetectorParams(DetectorParams):
    confidence: Confidence | None = Field(
        default=None, description="Minimum score; the job's `confidence_threshold` when omitted."
    )
    min_box_size: int | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="Drop boxes narrower or shorter than this (px); the job's when omitted.",
    )


def _known(names: tuple[str, ...], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = sorted({name for name in names if name not in allowed})
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    return tuple(dict.fromkeys(names))


def _coco_names(names: tuple[str, ...]) -> tuple[str, ...]:
    return _known(names, COCO_CLASSES, "class names")


# COCO class names, checked and de-duplicated in order.
ClassNames = Annotated[tuple[str, ...], AfterValidator(_coco_names)]


class ObjectsParams(_BoxDetectorParams):
    """YOLO over the 80 COCO classes."""

    kind: Literal["objects"] = "objects"
    classes: ClassNames | None = Field(
        default=None, min_length=1, description="COCO class names to keep; the job's when omitted."
    )


class PeopleParams(_BoxDetectorParams):
    """People from YOLO and OpenCV's HOG detector, fused."""

    kind: Literal["people"] = "people"
    strategy: Literal["yolo", "hog", "fused"] = Field(
        default="yolo",
        description="`yolo` (YOLO persons), `hog` (OpenCV HOG only) or `fused` (both, overlapping "
        "boxes merged). The default follows `make eval`: see the README's accuracy table.",
    )
    hog_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Minimum HOG score (its SVM margin squashed to 0..1) for a HOG-only box.",
    )
    fusion_iou: float = Field(
        default=0.4, ge=0.1, le=0.9, description="Overlap at which a YOLO and a HOG box merge."
    )


class FacesParams(DetectorParams):
    """Frontal faces with OpenCV's Haar cascade."""

    kind: Literal["faces"] = "faces"
    min_face_size: int = Field(default=24, ge=8, le=2000, description="Smallest face side (px).")
    scale_factor: float = Field(default=1.1, gt=1.0, le=2.0)
    min_neighbors: int = Field(
        default=5, ge=1, le=50, description="Higher is stricter (fewer false faces)."
    )
    confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Minimum score: the cascade's last-stage margin squashed to 0..1 "
        "(it ranks faces; it is not a calibrated probability).",
    )
    search: Literal["people", "frame"] = Field(
        default="people",
        description="`people`: look for faces on the people YOLO finds (fast, no faces on "
        "walls); `frame`: scan the whole frame (slow on large frames, finds faces on bodies "
        "YOLO misses).",
    )


class MotionParams(DetectorParams):
    """Frame differencing between consecutive analysed frames."""

    kind: Literal["motion"] = "motion"
    pixel_threshold: int = Field(
        default=25, ge=1, le=254, description="Grey-level change that counts a pixel as moving."
    )
    min_area_percent: float = Field(
        default=0.5,
        ge=0.0,
        le=100.0,
        description="Moving share of the frame (%) at which the frame counts as having motion.",
    )
    min_box_area_percent: float = Field(
        default=0.05, ge=0.0, le=100.0, description="Smallest motion box reported (% of frame)."
    )
    min_segment_s: float = Field(
        default=0.5, ge=0.0, le=3600.0, description="Motion shorter than this is not a segment."
    )
    merge_gap_s: float = Field(
        default=1.0, ge=0.0, le=3600.0, description="Stillness shorter than this joins segments."
    )


class VehiclesParams(_BoxDetectorParams):
    """Cars, trucks, motorcycles, buses and bicycles from YOLO, counted by type."""

    kind: Literal["vehicles"] = "vehicles"
    types: tuple[str, ...] = Field(default=VEHICLE_TYPES, min_length=1)

    @field_validator("types")
    @classmethod
    def _vehicle_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, VEHICLE_TYPES, "vehicle types")


def validation_context(plate_formats: PlateFormats | None) -> dict[str, Any]:
    """What validates params against a server's plate formats (VIGIL_PLATE_FORMATS; None for
    the built-in ones): `JobParams.model_validate(data, context=validation_context(...))`."""
    return {PLATE_REGIONS: tuple(configured_formats(plate_formats))}


PlateLocalisation = Literal["frame_text", "vehicle_text", "combined", "plate_model", "haar"]


class PlatesParams(DetectorParams):
    """Licence plates: found on the vehicles YOLO sees, read by an OCR engine, corrected and
    checked against regional formats; on video, read on each vehicle's best views and voted."""

    kind: Literal["plates"] = "plates"
    ocr_engine: Literal["rapidocr", "easyocr"] | None = Field(
        default=None, description="OCR engine; the server's VIGIL_OCR_ENGINE when omitted."
    )
    region: str | None = Field(
        default=None,
        description="Plate format region (`us`, `eu`, `uk`, `in`, or any the server adds): "
        "look-alike characters are corrected to fit it and readings that fit none of its "
        "formats are dropped. The server's VIGIL_PLATE_REGION when omitted; with none, any "
        "format fits and `region` reports which.",
    )
    localisation: PlateLocalisation = Field(
        default="combined",
        description="Where images are searched for plate text (see the README's ANPR table); "
        "videos read each tracked vehicle's own box.",
    )
    confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Minimum OCR score of a reading."
    )
    vehicle_confidence: Confidence = Field(
        default=0.25, description="Minimum YOLO score of a vehicle whose plate is read."
    )
    min_vehicle_width: int = Field(
        default=64, ge=0, le=10_000, description="Narrower vehicles are too far to read (px)."
    )
    reads_per_vehicle: int = Field(
        default=6,
        ge=1,
        le=100,
        description="Video: most readings per tracked vehicle, taken on its largest, sharpest "
        "views; the plate reported is their vote.",
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        region = value.lower()
        known = (info.context or {}).get(PLATE_REGIONS, tuple(DEFAULT_PLATE_FORMATS))
        if region not in known:
            raise ValueError(f"unknown plate region {value!r} (known: {', '.join(known)})")
        return region


class DetectorParamsClass(Protocol):
    """A detector's parameter class: its `kind` has a default, so it builds with none."""

    def __call__(self) -> DetectorParams: ...

    def model_json_schema(self) -> dict[str, Any]: ...


def _detector_params() -> dict[str, DetectorParamsClass]:
    """Every DetectorParams class above whose `kind` has a default, by kind, in the order they
    are defined: the order GET /models lists them and warm-up loads them."""
    found: dict[str, DetectorParamsClass] = {}
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, DetectorParams):
            kind = value.model_fields["kind"].default
            if isinstance(kind, str):
                found[kind] = cast(DetectorParamsClass, value)
    return found


# Adding a detector's parameter class above is all this module needs.
DETECTOR_PARAMS = _detector_params()
DETECTOR_KINDS: tuple[str, ...] = tuple(DETECTOR_PARAMS)
if TYPE_CHECKING:
    AnyDetectorParams = DetectorParams
else:
    # Told apart by `kind`, so that a 422 names the fields of the detector asked for.
    AnyDetectorParams = Annotated[
        reduce(operator.or_, DETECTOR_PARAMS.values()), Field(discriminator="kind")
    ]


class TrackingParams(_Frozen):
    enabled: bool = Field(default=True, description="Track objects across video frames.")
    tracker: Literal["bytetrack", "botsort"] = "bytetrack"
    min_track_frames: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Tracks seen in fewer analysed frames are not counted as unique objects.",
    )
    stitch_gap_s: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="A new track that starts this soon after a lost one of the same class, where "
        "the lost one was heading, continues it (kept from inflating unique counts).",
    )


class ZoneParams(_Frozen):
    name: str = Field(min_length=1, max_length=64)
    polygon: tuple[Point, ...] = Field(
        min_length=3, max_length=64, description="Vertices [x, y] in 0..1 of the frame."
    )
    classes: ClassNames | None = Field(
        default=None, min_length=1, description="Classes this zone counts; all when omitted."
    )
    loiter_seconds: float | None = Field(
        default=30.0,
        gt=0.0,
        le=86_400.0,
        description="Dwell after which a loitering event fires; null disables it.",
    )

    @field_validator("polygon")
    @classmethod
    def _has_area(cls, value: tuple[Point, ...]) -> tuple[Point, ...]:
        if polygon_area(value) < 1e-6:
            raise ValueError("polygon has no area (points collinear or repeated)")
        return value


class LineParams(_Frozen):
    name: str = Field(min_length=1, max_length=64)
    start: Point = Field(description="[x, y] in 0..1")
    end: Point = Field(description="[x, y] in 0..1")
    classes: ClassNames | None = Field(
        default=None, min_length=1, description="Classes this line counts; all when omitted."
    )

    @model_validator(mode="after")
    def _has_length(self) -> LineParams:
        if self.start == self.end:
            raise ValueError("line start and end are the same point")
        return self


class CrowdLevel(_Frozen):
    name: str = Field(min_length=1, max_length=32)
    min_people: int = Field(ge=0)


DEFAULT_CROWD_LEVELS = (
    CrowdLevel(name="empty", min_people=0),
    CrowdLevel(name="low", min_people=1),
    CrowdLevel(name="medium", min_people=10),
    CrowdLevel(name="high", min_people=25),
    CrowdLevel(name="critical", min_people=50),
)


class MotionGateParams(_Frozen):
    """Running the detectors only when the picture changed: a frame that differs too little
    from the last frame the detectors saw keeps that frame's boxes (tracked objects stay where
    they were) without a new inference."""

    enabled: bool = Field(
        default=False,
        description="Gate the detectors by motion (off for uploads unless asked; on for cameras).",
    )
    pixel_threshold: int = Field(
        default=20,
        ge=1,
        le=254,
        description="Grey-level change since the last detected frame that counts a pixel as "
        "changed.",
    )
    min_area_percent: float = Field(
        default=0.05,
        ge=0.0,
        le=100.0,
        description="Changed share of the frame (%) at which the detectors run again.",
    )
    full_detection_s: float = Field(
        default=2.0,
        gt=0.0,
        le=600.0,
        description="The detectors run at least this often (seconds of video) even in a still "
        "picture, so that what stands still is confirmed and what changed too slowly is seen.",
    )


class CrowdParams(_Frozen):
    levels: tuple[CrowdLevel, ...] = Field(
        default=DEFAULT_CROWD_LEVELS,
        min_length=1,
        description="Named levels by minimum people count; the highest level reached applies.",
    )

    @field_validator("levels")
    @classmethod
    def _ordered(cls, value: tuple[CrowdLevel, ...]) -> tuple[CrowdLevel, ...]:
        names = [level.name for level in value]
        if len(set(names)) != len(names):
            raise ValueError("crowd level names must be unique")
        return tuple(sorted(value, key=lambda level: level.min_people))


def polygon_area(points: tuple[Point, ...] | list[tuple[float, float]]) -> float:
    """Shoelace area, in the units of the points (here: share of the frame)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, (*points[1:], points[0]), strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


class JobParams(_Frozen):
    """Per-job analysis parameters (the optional `params` JSON of an upload)."""

    detectors: tuple[AnyDetectorParams, ...] = Field(
        default=(ObjectsParams(),),
        min_length=1,
        description='Detectors to run: names (`["objects", "faces"]`) or objects with a `kind` '
        'and that detector\'s parameters (`[{"kind": "people", "strategy": "fused"}]`); '
        "see GET /api/v1/models for each one's schema.",
    )
    confidence_threshold: Confidence = Field(
        default=0.25, description="Default minimum score for detectors that take one."
    )
    classes: ClassNames | None = Field(
        default=None, min_length=1, description="COCO class names `objects` keeps; all if omitted."
    )
    min_box_size: int = Field(
        default=0, ge=0, le=10_000, description="Drop boxes narrower or shorter than this (px)."
    )
    frame_skip: int = Field(default=1, ge=1, le=1000, description="Analyse every Nth frame.")
    max_frames: int | None = Field(
        default=None, ge=1, description="Stop after analysing this many frames."
    )
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    zones: tuple[ZoneParams, ...] = Field(
        default=(),
        max_length=32,
        validation_alias=AliasChoices("zones", "roi_zones"),
        description=(
            "Polygons to count in (the camera-analytics API's `roi_zones` is accepted as a "
            "synonym)."
        ),
    )
    lines: tuple[LineParams, ...] = Field(default=(), max_length=32)
    roi_only: bool = Field(
        default=False, description="Drop detections whose anchor lies outside every zone."
    )
    crowd: CrowdParams = Field(default_factory=CrowdParams)
    motion_gate: MotionGateParams = Field(default_factory=MotionGateParams)
    annotate: bool = Field(
        default=False, description="Also render an annotated JPEG (images) or MP4 (videos)."
    )

    @field_validator("detectors", mode="before")
    @classmethod
    def _names_to_objects(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"kind": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("detectors")
    @classmethod
    def _unique_kinds(cls, value: tuple[DetectorParams, ...]) -> tuple[DetectorParams, ...]:
        kinds = [d.kind for d in value]
        repeated = sorted({k for k in kinds if kinds.count(k) > 1})
        if repeated:
            raise ValueError(f"detector listed more than once: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> JobParams:
        names = [z.name for z in self.zones] + [line.name for line in self.lines]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"zone and line names must be unique: {', '.join(repeated)}")
        if self.roi_only and not self.zones:
            raise ValueError("roi_only needs at least one zone")
        return self

    def detector(self, kind: str) -> DetectorParams | None:
        return next((d for d in self.detectors if d.kind == kind), None)

    def resolved_detectors(self) -> list[DetectorParams]:
        """Each detector's params with the job-wide defaults filled in, so that two jobs asking
        for the same thing share one cached detector in the worker."""
        resolved: list[DetectorParams] = []
        for params in self.detectors:
            update: dict[str, Any] = {}
            if isinstance(params, _BoxDetectorParams):
                if params.confidence is None:
                    update["confidence"] = self.confidence_threshold
                if params.min_box_size is None:
                    update["min_box_size"] = self.min_box_size
            if isinstance(params, ObjectsParams) and params.classes is None and self.classes:
                update["classes"] = self.classes
            resolved.append(params.model_copy(update=update) if update else params)
        return resolved
