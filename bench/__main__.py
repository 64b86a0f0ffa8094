"""`python -m bench`: run the video comparison, then the image endpoint, and print both."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import quiet_ultralytics, show
from bench.image_endpoint import ImageResult, bench_image
from bench.report import header_lines, image_lines, video_lines, write_json
from bench.video import DEFAULT_VIDEO, VideoResult, bench_video


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("video", "image"), help="run one benchmark only")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to decode")
    parser.add_argument(
        "--repeat", type=positive_int, default=1, help="full passes per side (default 1)"
    )
    parser.add_argument("--max-frames", type=positive_int, help="stop each pass after N frames")
    parser.add_argument(
        "--requests", type=positive_int, default=20, help="timed image requests (default 20)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_ultralytics()
    video: VideoResult | None = None
    image: ImageResult | None = None
    show(header_lines())
    # Video first and alone: with two cores, an idle-looking stack still skews the fps.
    if args.only in (None, "video"):
        video = bench_video(args.video, args.repeat, args.max_frames)
        show(video_lines(video))
    if args.only in (None, "image"):
        image = bench_image(args.requests)
        show(image_lines(image))
    if args.json is not None:
        write_json(args.json, video, image)
    return 1 if image is not None and image.errors else 0


if __name__ == "__main__":
    sys.exit(main())
