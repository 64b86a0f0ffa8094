"""Checks on a received upload before any job exists: decodable media, valid params."""

from __future__ import annotations

import json
from typing import Any

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from api.errors import describe_fields, field_errors
from api.jobs.upload import Upload
from api.text import NUL_MESSAGE, nul_location
from shared.db.enums import JobKind
from shared.errors import UnprocessableError
from shared.media import check_video_structure
from shared.params import JobParams
from shared.settings import get_settings

PARAMS_FIELD = "params"


def parse_params(fields: dict[str, str]) -> JobParams:
    raw = fields.get(PARAMS_FIELD, "").strip()
    if not raw:
        return JobParams()
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UnprocessableError(
            f"params is not valid JSON: {exc.msg} at position {exc.pos}",
            extra={"fields": [{"field": PARAMS_FIELD, "message": "invalid JSON"}]},
        ) from exc
    if not isinstance(data, dict):
        raise UnprocessableError(
            "params must be a JSON object",
            extra={"fields": [{"field": PARAMS_FIELD, "message": "must be a JSON object"}]},
        )
    # JSON spells NUL "\u0000", so the form field's own check cannot see it; the params are
    # stored as jsonb, which refuses it.
    where = nul_location(data, (PARAMS_FIELD,))
    if where is not None:
        name = ".".join(str(part) for part in where)
        raise UnprocessableError(
            f"{name}: {NUL_MESSAGE}", extra={"fields": [{"field": name, "message": NUL_MESSAGE}]}
        )
    try:
        return JobParams.model_validate(data)
    except ValidationError as exc:
        fields_ = field_errors([dict(e) for e in exc.errors()], prefix=(PARAMS_FIELD,))
        raise UnprocessableError(describe_fields(fields_), extra={"fields": fields_}) from exc


def inspect_media(upload: Upload) -> dict[str, Any]:
    """Media facts for the job record; UnprocessableError when the file cannot be decoded."""
    media: dict[str, Any] = {
        "filename": upload.filename,
        "format": upload.fmt.name,
        "content_type": upload.fmt.content_type,
        "size_bytes": upload.size,
    }
    if upload.fmt.kind is JobKind.VIDEO:
        problem = check_video_structure(upload.path, upload.fmt)
        if problem:
            raise UnprocessableError(f"could not decode video: {problem}")
        return media
    max_pixels = get_settings().max_image_pixels
    too_large = f"at most {max_pixels} pixels are accepted (VIGIL_MAX_IMAGE_PIXELS)"
    try:
        with Image.open(upload.path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise UnprocessableError(f"the image is {width}x{height}; {too_large}")
            image.load()  # decodes every byte: catches truncated and corrupt files
    except Image.DecompressionBombError as exc:
        # Pillow refuses, while it reads the header, a size past its own ceiling (twice
        # Image.MAX_IMAGE_PIXELS), before the check above can run.
        raise UnprocessableError(f"the image is too large to decode; {too_large}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnprocessableError(f"could not decode image: {exc}") from exc
    return media | {"width": width, "height": height}
