"""`vigil analyze FILE [--param k=v ...]`: the same pipeline in-process, no services, JSON out.
`vigil models fetch|export`: weights for VIGIL_MODEL_DIR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.configured import check_plates, params_context
from shared.db.enums import JobKind
from shared.logging import configure_logging
from shared.media import SNIFF_BYTES, SUPPORTED, sniff
from shared.params import JobParams
from shared.settings import get_settings
from shared.weights import WeightSettings
from worker.detectors.export import DEFAULT_MODEL, ModelExportError, export, fetch
from worker.engine.analysis import VideoAnalysis, analyze_image, model_summary
from worker.errors import MediaError, ModelUnavailableError

LIST_PARAMS = {name for name, f in JobParams.model_fields.items() if "tuple" in str(f.annotation)}


def parse_params(pairs: list[str]) -> JobParams:
    """`k=v` pairs into validated JobParams; values are JSON where they parse as JSON, and
    list parameters also accept comma-separated text (`classes=person,car`,
    `detectors=people,faces`)."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects key=value, got {pair!r}")
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if key in LIST_PARAMS and isinstance(parsed, str):
            parsed = [item.strip() for item in parsed.split(",") if item.strip()]
        raw[key] = parsed
    return JobParams.model_validate(raw, context=params_context(get_settings()))


def analyze(path: Path, params: JobParams) -> dict[str, Any]:
    with path.open("rb") as handle:
        fmt = sniff(handle.read(SNIFF_BYTES))
    if fmt is None:
        raise MediaError(f"{path.name}: not a {SUPPORTED} file")
    result: dict[str, Any] = {
        "file": str(path),
        "kind": fmt.kind,
        "params": params.model_dump(mode="json"),
    }
    if fmt.kind is JobKind.IMAGE:
        image = analyze_image(path, params)
        result |= {
            "media": {"format": fmt.name, "width": image.width, "height": image.height},
            "processing_time": image.processing_time,
            "summary": image.summary,
            "detections": image.detections,
            "metrics": image.metrics,
        }
    else:
        video = VideoAnalysis(path, params)
        frames = [
            {
                "frame_index": f.frame_index,
                "timestamp": f.timestamp_s,
                "detections": f.detections,
                "metrics": f.metrics,
            }
            for f in video.frames()
        ]
        result |= {
            "media": {"format": fmt.name, **video.info.as_dict()},
            "summary": video.summary,
            "frames": frames,
        }
    result["model"] = model_summary()
    return result


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, help="where to write (default: VIGIL_MODEL_DIR)")
    parser.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="quantise to INT8, as the default VIGIL_MODEL_NAME expects (needs nncf)",
    )
    parser.add_argument(
        "--data",
        metavar="YAML",
        help="INT8 calibration dataset (default: ultralytics' coco8, downloaded)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    analyze_cmd = commands.add_parser("analyze", help="analyse an image or a video in-process")
    analyze_cmd.add_argument("file", type=Path)
    analyze_cmd.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    analyze_cmd.add_argument("--indent", type=int, default=2)

    models_cmd = commands.add_parser("models", help="download or export detector weights")
    model_commands = models_cmd.add_subparsers(dest="models_command", required=True)
    fetch_cmd = model_commands.add_parser(
        "fetch", help="download an official YOLO and export it to OpenVINO (needs internet)"
    )
    fetch_cmd.add_argument("--model", default=DEFAULT_MODEL, help="e.g. yolov8n, yolo11n")
    _model_options(fetch_cmd)
    export_cmd = model_commands.add_parser("export", help="export a local .pt to OpenVINO")
    export_cmd.add_argument("weights", type=Path, metavar="PATH.pt")
    export_cmd.add_argument("--name", help="the exported folder's name (default: ultralytics')")
    _model_options(export_cmd)
    return parser


def run_models(args: argparse.Namespace) -> int:
    settings = WeightSettings()
    directory: Path = args.dir or settings.model_dir
    try:
        if args.models_command == "fetch":
            folder = fetch(args.model, directory, int8=args.int8, data=args.data, force=args.force)
        else:
            folder = export(
                args.weights,
                directory,
                int8=args.int8,
                data=args.data,
                name=args.name,
                force=args.force,
            )
    except ModelExportError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 1
    print(f"vigil: wrote {folder}")
    if folder.name != settings.model_name:
        print(f"vigil: to detect with it, set VIGIL_MODEL_NAME={folder.name}")
    plate = settings.plate_model_name
    if args.models_command == "fetch" and not (directory / plate).exists():
        print(
            f"vigil: no {plate} in {directory}: no plate detector is published for download, "
            "so the plates detector's `plate_model` localisation needs your own fine-tune "
            f"(`vigil models export PLATE.pt --name {plate}`; the other localisations work "
            "without it, see docs/plates.md)"
        )
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    try:
        params = parse_params(args.param)
    except (ValueError, ValidationError) as exc:
        print(f"vigil: invalid parameters: {exc}", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"vigil: no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        result = analyze(args.file, params)
    except (MediaError, ModelUnavailableError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=args.indent or None, default=str)
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        return run_models(args)
    try:
        configure_logging()
        check_plates(get_settings())
    except ValueError as exc:  # pydantic's ValidationError is one
        print(f"vigil: invalid settings: {exc}", file=sys.stderr)
        return 2
    return run_analyze(args)


if __name__ == "__main__":
    sys.exit(main())
