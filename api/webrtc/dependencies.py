from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import CurrentUser, RedisClient
from api.openapi import raises
from api.webrtc import service
from shared.live.protocol import SessionRecord


@raises(404)
async def owned_session(session_id: str, user: CurrentUser, redis: RedisClient) -> SessionRecord:
    """The caller's live view session; 404 for a missing one and for someone else's."""
    return await service.owned_session(redis, user, session_id)


OwnedSession = Annotated[SessionRecord, Depends(owned_session)]
