from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.models.schemas import ModelList
from api.models.service import served_models

router = APIRouter(tags=["operations"])


@router.get("/models")
async def list_models(_: CurrentUser) -> ModelList:
    return await served_models()
