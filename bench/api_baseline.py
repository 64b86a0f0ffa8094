"""The baseline of `make bench-api`: a bare FastAPI app (`uvicorn bench.api_baseline:app`)
whose status route answers the body Vigil's answered, as stored bytes: no middleware, no
authentication, no database, no serialisation. What Vigil's route costs is its figures over
these, served by as many uvicorn processes on the same machine."""

from __future__ import annotations

import os

from fastapi import FastAPI, Response

# The body, which the benchmark (bench/api_status.py) hands each uvicorn process.
BODY_VARIABLE = "BENCH_STATUS_BODY"
BODY = os.environ.get(BODY_VARIABLE, "").encode()

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/api/v1/jobs/{job_id}/status")
async def job_status(job_id: str) -> Response:
    return Response(BODY, media_type="application/json")
