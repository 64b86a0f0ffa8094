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


class RunnersRead(BaseModel):
    """Camera runners whose heartbeat is recent. Informative only: cameras wait for a runner,
    so none alive does not make the service unhealthy."""

    count: int
    cameras: int = Field(description="cameras they hold")
    capacity: int = Field(description="cameras they can hold")


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    checks: HealthChecks
    runners: RunnersRead | None = Field(description="null when the database does not answer")


class ReadinessChecks(BaseModel):
    database: CheckRead
    redis: CheckRead
    threads: CheckRead = Field(description="the API's thread pool runs a trivial function")


class ReadinessRead(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: ReadinessChecks


class LivenessRead(BaseModel):
    status: Literal["alive"]
