"""Dependencies every router uses, declared once as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import Scope as AsgiScope

from api import ratelimit
from api.api_keys import scopes
from api.api_keys import service as api_keys
from api.api_keys.scopes import Scope
from api.auth.security import decode_token
from api.openapi import raises
from shared.db.models import ApiKey, User
from shared.errors import AuthenticationError, ForbiddenError
from shared.repositories import users as users_repo

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/signin", auto_error=False)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="an API key from POST /api/v1/api-keys; acts as its owner within its scopes",
)

AuthMethod = Literal["bearer", "api_key"]


async def redis_client(request: Request) -> aioredis.Redis:
    """Async although it awaits nothing: FastAPI runs a sync dependency in the thread pool,
    and every authenticated route would then need a free thread to get this far."""
    client: aioredis.Redis = request.app.state.redis
    return client


RedisClient = Annotated[aioredis.Redis, Depends(redis_client)]


def parse_uuid(value: str) -> UUID | None:
    """An id from a path, or None when it is not one: the owned-object dependencies answer 404
    alike for malformed, missing and foreign ids."""
    try:
        return UUID(value)
    except ValueError:
        return None


# A page number is bounded so that its OFFSET (page x page size) stays far inside Postgres'
# bigint: past it the query fails, a 500 rather than an empty page.
MAX_PAGE = 1_000_000
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def _note_caller(
    request: Request, user_id: UUID, method: AuthMethod, api_key_id: UUID | None = None
) -> None:
    """Who is calling, for the access log (api/observe.py) and the audit trail (api/audit.py),
    which read the request state."""
    request.state.user_id = str(user_id)
    request.state.auth_method = method
    request.state.api_key_id = str(api_key_id) if api_key_id else None


def caller_checks(scope: AsgiScope) -> list[ratelimit.Check]:
    """The limits of the credential a request presents, read as `authenticated` below reads
    it, for the rate-limit middleware to count with the client's address in one round trip: a
    valid access token's user, or an API key's own limit (its owner's waits until the key,
    found in the database, names them). Nothing for a token that does not verify: it counts
    against the address alone, and is refused."""
    headers = Headers(scope=scope)
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    if token and scheme.lower() == "bearer":
        try:
            claims = decode_token(token, "access")
        except AuthenticationError:
            return []
        return [(ratelimit.PER_USER, str(claims.sub))]
    api_key = headers.get(api_key_scheme.model.name)
    if api_key:
        return [(ratelimit.PER_API_KEY, api_keys.hash_key(api_key)[:32])]
    return []


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the credential says before the user's row is read: a bearer
    token's user and token version, or an API key's owner, read with the key."""

    user_id: UUID
    token_version: int | None = None
    owner: User | None = None


@raises(401)
async def authenticated(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Caller:
    """The caller, from a bearer access token or else an X-API-Key, which acts as its owner
    within its scopes (RequireScope below). A token's user is still to be checked in the
    database, active and at the token's version: by current_user, or by a lookup that checks it
    in the same query (api/jobs/dependencies.py).
    Counts the request against the user's rate limit and, with a key, the key's: the key's
    before anything reaches the database, the owner's once the key has named them (the
    middleware has usually counted the token's user or the key already: caller_checks)."""
    if token:
        claims = decode_token(token, "access")
        _note_caller(request, claims.sub, "bearer")
        await ratelimit.hit_uncounted(request, ratelimit.PER_USER, str(claims.sub))
        # What an event stream re-checks while it runs (api/jobs/events.py).
        request.state.token_version = claims.ver
        return Caller(claims.sub, token_version=claims.ver)
    if api_key:
        key_hash = api_keys.hash_key(api_key)
        await ratelimit.hit_uncounted(request, ratelimit.PER_API_KEY, key_hash[:32])
        key = await api_keys.authenticate(api_key, key_hash)
        _note_caller(request, key.owner.id, "api_key", key.id)
        request.state.api_key = key  # for the scope checks below
        # All of a user's keys and tokens share the per-user budget: more keys, no more requests.
        await ratelimit.hit_uncounted(request, ratelimit.PER_USER, str(key.owner.id))
        await api_keys.mark_used(key)
        return Caller(key.owner.id, owner=key.owner)
    raise AuthenticationError(
        "not authenticated: send Authorization: Bearer <access token> or X-API-Key: <API key>"
    )


Authenticated = Annotated[Caller, Depends(authenticated)]


@raises(401)
async def current_user(caller: Authenticated) -> User:
    """The calling user, active, and for a token at the version it was issued under."""
    if caller.owner is not None:
        return caller.owner
    user = await users_repo.get_active(caller.user_id)
    # A password change or "sign out everywhere" moved the version on: the token is over.
    if user is None or user.token_version != caller.token_version:
        raise AuthenticationError("invalid access token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def calling_key(request: Request, _: CurrentUser) -> ApiKey | None:
    """The API key the caller authenticated with; None for a bearer token."""
    if request.state.auth_method != "api_key":
        return None
    key: ApiKey = request.state.api_key
    return key


CallingKey = Annotated[ApiKey | None, Depends(calling_key)]


@raises(403)
class RequireScope:
    """A dependency: the caller, who must hold `scope`. A bearer token holds every scope, an API
    key those it was made with (api/api_keys/scopes.py). Routes that only read need no more
    than CurrentUser, since every key may read."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, user: CurrentUser, key: CallingKey) -> User:
        if key is not None and self.scope not in scopes.parse(key.scopes):
            raise ForbiddenError(f"this API key lacks the `{self.scope}` scope")
        return user


# Submitting and deleting jobs, the watchlist, the profile.
WriteUser = Annotated[User, Depends(RequireScope("write"))]
# API keys, webhooks, the callback secret, the password.
AdminUser = Annotated[User, Depends(RequireScope("admin"))]
