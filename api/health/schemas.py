from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CheckRead(BaseModel):
    status: Literal["ok", "down", "timeout"]
    latency_ms: float | None = None
    answering: int | None = Field(default=None, description="workers that answered a ping")


class HealthChecks(BaseModel):
    database: CheckRead
    redis: CheckRead
    workers: CheckRead


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    checks: HealthChecks


class ReadinessChecks(BaseModel):
    database: CheckRead
    redis: CheckRead
    threads: CheckRead = Field(description="the API's thread pool runs a trivial function")


class ReadinessRead(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: ReadinessChecks


class LivenessRead(BaseModel):
    status: Literal["alive"]
