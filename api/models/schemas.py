from __future__ import annotations

from pydantic import BaseModel


class ModelRead(BaseModel):
    name: str
    file: str
    format: str
    task: str
    version: str | None
    sha256: str | None
    classes: list[str] | None
    workers: list[str]


class ModelList(BaseModel):
    models: list[ModelRead]
    workers_answering: int
