"""`vigil analyze FILE [--param k=v ...]`: the same pipeline in-process, no services, JSON out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.db.enums import JobKind
from shared.logging import configure_logging
from shared.media import SNIFF_BYTES, SUPPORTED, sniff
from shared.params import JobParams
from worker.errors import MediaError, ModelUnavailableError
from worker.services.analysis import VideoAnalysis, analyze_image, model_summary

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
    return JobParams.model_validate(raw)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    analyze_cmd = commands.add_parser("analyze", help="analyse an image or a video in-process")
    analyze_cmd.add_argument("file", type=Path)
    analyze_cmd.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    analyze_cmd.add_argument("--indent", type=int, default=2)
    args = parser.parse_args(argv)
    configure_logging()
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


if __name__ == "__main__":
    sys.exit(main())
