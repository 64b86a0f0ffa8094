from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api.deps import CurrentUser, WriteUser
from api.watchlist.schemas import WatchlistEntryCreate, WatchlistEntryRead
from shared.db.enums import WatchlistKind
from shared.errors import NotFoundError
from shared.repositories import watchlist as repo

router = APIRouter(prefix="/watchlist", tags=["watchlist"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "already on the watchlist, or the watchlist is full"}},
)
async def add_entry(data: WatchlistEntryCreate, user: WriteUser) -> WatchlistEntryRead:
    entry = await repo.create(user.id, WatchlistKind(data.kind), data.plate, data.label)
    return WatchlistEntryRead.from_model(entry)


@router.get("")
async def list_entries(user: CurrentUser) -> list[WatchlistEntryRead]:
    """The caller's entries, oldest first."""
    return [WatchlistEntryRead.from_model(entry) for entry in await repo.list_for(user.id)]


@router.delete(
    "/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such entry of yours"}},
)
async def delete_entry(entry_id: UUID, user: WriteUser) -> Response:
    # Someone else's entry answers like a missing one, so ids reveal nothing.
    if not await repo.delete(user.id, entry_id):
        raise NotFoundError(f"watchlist entry {entry_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
