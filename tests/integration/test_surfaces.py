"""What the API shows beyond its endpoints: the security headers on every answer, Swagger UI
served from its own files, and what a deployment closes (docs, /metrics without a token)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.integration.conftest import api_process

STATIC = "/static/swagger-ui"


def assert_common_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert response.headers["referrer-policy"] == "no-referrer", response.url


def test_every_answer_forbids_sniffing_and_api_answers_are_not_stored(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    answers = [
        client.get("/me", headers=auth),
        client.get("/me"),
        client.get("/jobs", headers=auth),
        client.get("/no-such-route"),
        client.post("/auth/signin", data={"username": "nobody@example.com", "password": "x"}),
        httpx.get(f"{stack.base_url}/openapi.json"),
        httpx.get(f"{stack.base_url}/docs"),
        httpx.get(f"{stack.base_url}/metrics"),
        httpx.get(f"{stack.base_url}/no-such-page"),
    ]
    for response in answers:
        assert_common_headers(response)
        assert response.headers["cache-control"] == "no-store", response.url
    # The vendored files are the same for everyone: a browser may cache them.
    asset = httpx.get(f"{stack.base_url}{STATIC}/swagger-ui.css")
    assert_common_headers(asset)
    assert "no-store" not in asset.headers.get("cache-control", "")


def test_docs_load_nothing_from_outside(stack: LocalStack) -> None:
    page = httpx.get(f"{stack.base_url}/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert not re.findall(r"https?://", page.text), "the docs page refers to another site"
    # Swagger UI would send the schema's address to its online validator.
    assert '"validatorUrl": null' in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {f"{STATIC}/swagger-ui-bundle.js", f"{STATIC}/swagger-ui.css"} <= set(sources)
    for source in sources:
        asset = httpx.get(f"{stack.base_url}{source}")
        assert asset.status_code == 200, source
        assert asset.content, source
    script = httpx.get(f"{stack.base_url}{STATIC}/swagger-ui-bundle.js")
    # nosniff: a script served under another type would not run.
    assert "javascript" in script.headers["content-type"]
    assert (
        httpx.get(f"{stack.base_url}{STATIC}/swagger-ui.css")
        .headers["content-type"]
        .startswith("text/css")
    )
    assert httpx.get(f"{stack.base_url}/docs/oauth2-redirect").status_code == 200
    assert httpx.get(f"{stack.base_url}/redoc").status_code == 404
    assert httpx.get(f"{stack.base_url}{STATIC}/../../main.py").status_code == 404


@pytest.fixture(scope="module")
def closed_api(stack: LocalStack) -> Iterator[LocalStack]:
    """An API as a deployment runs it with neither docs nor a metrics token."""
    with api_process(
        "closed-api",
        {"VIGIL_ENV": "prod", "VIGIL_METRICS_TOKEN": "", "VIGIL_DOCS_ENABLED": "false"},
    ) as api:
        yield api


def test_a_deployment_closes_docs_and_metrics(closed_api: LocalStack) -> None:
    base = closed_api.base_url
    for path in ("/docs", "/openapi.json", "/redoc", f"{STATIC}/swagger-ui.css"):
        assert httpx.get(f"{base}{path}").status_code == 404, path
    # Without a configured token /metrics is no route at all, whatever the caller sends.
    unknown = httpx.get(f"{base}/no-such-route")
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": "Bearer anything"}):
        refused = httpx.get(f"{base}/metrics", headers=headers)
        assert refused.status_code == 404
        assert refused.json() == unknown.json()
        assert_common_headers(refused)
    assert httpx.get(f"{base}/api/v1/health").status_code == 200
