from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from api.api_keys import service
from api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from api.deps import AdminUser, CallingKey, CurrentUser, Page, RedisClient
from shared.repositories.api_keys import MAX_LIVE_KEYS_PER_USER

router = APIRouter(prefix="/api-keys", tags=["api keys"])

FORBIDDEN = "with an API key: it lacks the `admin` scope"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": f"{FORBIDDEN}, or asks for more than it has"},
        409: {"description": "the account has the most live keys allowed (100)"},
    },
)
async def create_api_key(
    data: ApiKeyCreate, request: Request, user: AdminUser, maker: CallingKey
) -> ApiKeyCreated:
    """A new key for `X-API-Key`. The key is in this response only: store it now. With an
    API key (one with the `admin` scope), the new key gets no scope and no later expiry than
    that key, and is revoked with it."""
    return await service.create(request, user, data, maker)


@router.get("")
async def list_api_keys(
    user: CurrentUser,
    page: Page = 1,
    # A page holds every live key by default: no one has more.
    page_size: Annotated[int, Query(ge=1, le=MAX_LIVE_KEYS_PER_USER)] = MAX_LIVE_KEYS_PER_USER,
    include_revoked: bool = False,
) -> ApiKeyList:
    """The caller's keys, newest first, revoked ones only with `include_revoked=true`; never
    the keys themselves."""
    return await service.list_keys(user, page, page_size, include_revoked)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {"description": f"{FORBIDDEN}, and it is not the key being revoked"},
        404: {"description": "no such key of yours"},
    },
)
async def revoke_api_key(
    key_id: UUID, request: Request, user: CurrentUser, caller: CallingKey, redis: RedisClient
) -> Response:
    """Revoked at once, with every key made with it: the next request with any of them is
    refused, and the live view sessions opened with them are closed. Revoking again is a no-op.
    Any key may revoke itself; another key takes `admin`."""
    await service.revoke(request, user, key_id, caller, redis)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
