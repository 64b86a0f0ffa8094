"""Checks on a received upload before any job exists: decodable media within the limits,
valid params."""

from __future__ import annotations

import functools
import json
from typing import Any

import anyio
from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from api.errors import describe_fields, field_errors
from api.jobs.upload import Upload
from api.text import NUL_MESSAGE, nul_location
from shared.configured import params_context
from shared.db.enums import JobKind
from shared.errors import UnprocessableError
from shared.media import JPEG, read_video_container, video_limit_problem
from shared.params import JobParams
from shared.settings import get_settings

PARAMS_FIELD = "params"
# Far deeper than any params object nests (a zone's points are 4 levels down); json.loads
# recurses per level, and thousands of levels raise RecursionError.
MAX_PARAMS_DEPTH = 32


def _nesting_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, brackets inside strings aside."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _invalid(message: str, field_message: str) -> UnprocessableError:
    return UnprocessableError(
        message, extra={"fields": [{"field": PARAMS_FIELD, "message": field_message}]}
    )


def parse_params(fields: dict[str, str]) -> JobParams:
    raw = fields.get(PARAMS_FIELD, "").strip()
    if not raw:
        return JobParams()
    if _nesting_depth(raw) > MAX_PARAMS_DEPTH:
        raise _invalid(
            f"params nests deeper than {MAX_PARAMS_DEPTH} levels",
            f"nests deeper than {MAX_PARAMS_DEPTH} levels",
        )
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _invalid(
            f"params is not valid JSON: {exc.msg} at position {exc.pos}", "invalid JSON"
        ) from exc
    if not isinstance(data, dict):
        raise _invalid("params must be a JSON object", "must be a JSON object")
    # JSON spells NUL "\u0000", so the form field's own check cannot see it; the params are
    # stored as jsonb, which refuses it.
    where = nul_location(data, (PARAMS_FIELD,))
    if where is not None:
        name = ".".join(str(part) for part in where)
        raise UnprocessableError(
            f"{name}: {NUL_MESSAGE}", extra={"fields": [{"field": name, "message": NUL_MESSAGE}]}
        )
    try:
        return JobParams.model_validate(data, context=params_context(get_settings()))
    except ValidationError as exc:
        fields_ = field_errors([dict(e) for e in exc.errors()], prefix=(PARAMS_FIELD,))
        raise UnprocessableError(describe_fields(fields_), extra={"fields": fields_}) from exc


@functools.cache
def _check_limiter() -> anyio.CapacityLimiter:
    """Threads of their own for media checks: decoding images takes memory, so few run at
    once, and waiting uploads never hold the thread pool that every other route shares."""
    return anyio.CapacityLimiter(get_settings().media_check_concurrency)


async def inspect_media(upload: Upload, params: JobParams) -> dict[str, Any]:
    """Media facts for the job record; UnprocessableError when the file cannot be decoded or
    is beyond the limits."""
    media: dict[str, Any] = {
        "filename": upload.filename,
        "format": upload.fmt.name,
        "content_type": upload.fmt.content_type,
        "size_bytes": upload.size,
    }
    check = _check_video if upload.fmt.kind is JobKind.VIDEO else _check_image
    facts = await anyio.to_thread.run_sync(check, upload, params, limiter=_check_limiter())
    return media | facts


def _check_video(upload: Upload, params: JobParams) -> dict[str, Any]:
    container = read_video_container(upload.path, upload.fmt)
    if container.problem:
        raise UnprocessableError(f"could not decode video: {container.problem}")
    for stream in container.streams:
        problem = video_limit_problem(stream, params.frame_skip, params.max_frames)
        if problem:
            raise UnprocessableError(f"the video is beyond this server's limits: {problem}")
    return {}


def _check_image(upload: Upload, _: JobParams) -> dict[str, Any]:
    max_pixels = get_settings().max_image_pixels
    too_large = f"at most {max_pixels} pixels are accepted (VIGIL_MAX_IMAGE_PIXELS)"
    try:
        # The header alone gives the size: an image past the limit is never decoded.
        with Image.open(upload.path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise UnprocessableError(f"the image is {width}x{height}; {too_large}")
            if upload.fmt is JPEG:
                # Decoding at an eighth of the size reads every byte all the same, so a
                # truncated or corrupt file is still caught, for 1/64 of the memory.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except Image.DecompressionBombError as exc:
        # Pillow refuses, while it reads the header, a size past its own ceiling (twice
        # Image.MAX_IMAGE_PIXELS), before the check above can run.
        raise UnprocessableError(f"the image is too large to decode; {too_large}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnprocessableError(f"could not decode image: {exc}") from exc
    return {"width": width, "height": height}
