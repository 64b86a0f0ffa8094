"""`GET /`: the web console for a browser, the service's description for anyone else (the shape
of the AI video streaming backend's root); and the console's files under `/console/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.console.assets import URL_PREFIX, Asset, console
from api.openapi import exempt
from shared.contracts import API_PREFIX
from shared.errors import NotFoundError
from shared.settings import get_settings

router = APIRouter()

# The console runs its own files alone: no inline script or style, nothing from elsewhere.
# Pictures and videos fetched with the access token are shown from blob: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Camera views are addressed with view tokens in their query strings.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


class ApiEndpoints(BaseModel):
    offer: str = Field(description="the live view's WebRTC offer route")
    v1: str = Field(description="Vigil's REST API")


class Endpoints(BaseModel):
    docs: str | None = Field(description="Swagger UI; null where the operator turned it off")
    console: str = Field(description="the web console (open it in a browser)")
    api: ApiEndpoints


class ServiceInfo(BaseModel):
    """What the service is and where to go next, in the shape of the AI video streaming
    backend's root."""

    service: str
    version: str
    status: str = Field(description="`running` whenever the process answers")
    endpoints: Endpoints


def _q(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def wants_html(accept: str) -> bool:
    """Whether `accept` (an Accept header) prefers an HTML page to JSON: a browser's does,
    `*/*` (curl's) and `application/json` do not."""
    html = json = 0.0
    for item in accept.split(","):
        media_range, *parameters = item.split(";")
        kind, quality = media_range.strip().lower(), _q(parameters)
        if kind in ("text/html", "application/xhtml+xml"):
            html = max(html, quality)
        elif kind in ("application/json", "application/*", "*/*"):
            json = max(json, quality)
    return html > 0 and html >= json


def _not_modified(request: Request, asset: Asset) -> bool:
    tags = request.headers.get("if-none-match", "")
    return asset.etag in (tag.strip() for tag in tags.split(",")) or tags.strip() == "*"


def _serve(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, **SECURITY_HEADERS}
    if _not_modified(request, asset):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get(
    "/",
    response_model=ServiceInfo,
    responses={200: {"content": {"text/html": {}}, "description": "the service, or the console"}},
    tags=["operations"],
    summary="Service information, or the web console",
)
@exempt(503)
async def root(request: Request) -> Any:
    """The web console's page when the client prefers HTML (a browser); otherwise what the
    service is and where its routes are."""
    if wants_html(request.headers.get("accept", "")):
        response = _serve(request, console().index, "no-cache")
        response.headers["Vary"] = "Accept"
        return response
    settings = get_settings()
    info = ServiceInfo(
        service="Vigil",
        version=request.app.version,
        status="running",
        endpoints=Endpoints(
            docs="/docs" if settings.docs_enabled else None,
            console="/",
            api=ApiEndpoints(offer="/api/offer", v1=API_PREFIX),
        ),
    )
    return Response(
        info.model_dump_json(),
        media_type="application/json",
        headers={"Vary": "Accept", "Cache-Control": "no-cache"},
    )


@router.get(URL_PREFIX + "/{version}/{path:path}", include_in_schema=False)
async def asset(version: str, path: str, request: Request) -> Response:
    """A file of the console. A page loaded before the files changed asks for an older version:
    it gets today's file, not to be kept."""
    current = console()
    found = current.files.get(path)
    if found is None:
        raise NotFoundError(f"the console has no file {path}")
    return _serve(request, found, IMMUTABLE if version == current.version else "no-cache")
