"""Dependencies every router uses, declared once as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.auth.security import decode_token
from shared.db.models import User
from shared.errors import AuthenticationError
from shared.repositories import users as users_repo

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/signin", auto_error=False)


async def current_user(token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if not token:
        raise AuthenticationError("not authenticated: send Authorization: Bearer <access token>")
    claims = decode_token(token, "access")
    user = await users_repo.get_active(claims.sub)
    if user is None:
        raise AuthenticationError("invalid access token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def redis_client(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


RedisClient = Annotated[aioredis.Redis, Depends(redis_client)]
