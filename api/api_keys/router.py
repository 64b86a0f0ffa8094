from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from api.api_keys import service
from api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from api.deps import CurrentUser

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "the account has the most live keys allowed (100)"}},
)
async def create_api_key(data: ApiKeyCreate, request: Request, user: CurrentUser) -> ApiKeyCreated:
    """A new key for `X-API-Key`. The key is in this response only: store it now. A key can
    make keys too: it acts as its owner everywhere."""
    return await service.create(request, user, data.name)


@router.get("")
async def list_api_keys(user: CurrentUser) -> ApiKeyList:
    """The caller's keys, revoked ones included, newest first; never the keys themselves."""
    return await service.list_keys(user)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such key of yours"}},
)
async def revoke_api_key(key_id: UUID, request: Request, user: CurrentUser) -> Response:
    """Revoked at once: the next request with the key is refused. Revoking again is a no-op."""
    await service.revoke(request, user, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
