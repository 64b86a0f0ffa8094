"""Watchlist queries: the API's (add, list, remove) and the worker's (what to match plates
against)."""

from __future__ import annotations

from uuid import UUID

from tortoise.transactions import in_transaction

from shared.db.enums import WatchlistKind
from shared.db.models import User, WatchlistEntry
from shared.errors import ConflictError
from shared.plates import WatchKind

# Every plate read is matched against the owner's whole list, so its length is bounded.
MAX_ENTRIES_PER_USER = 1000


async def create(
    owner_id: UUID, kind: WatchlistKind, pattern: str, label: str | None
) -> WatchlistEntry:
    """Add a normalised entry; ConflictError when the owner has it already or has a full list."""
    async with in_transaction() as conn:
        # Locking the owner serialises their concurrent adds, so the checks below cannot race.
        # A full select: Tortoise leaves FOR UPDATE out of exists() and values_list().
        await User.filter(id=owner_id).using_db(conn).select_for_update().only("id")
        owned = WatchlistEntry.filter(owner_id=owner_id).using_db(conn)
        if await owned.filter(kind=kind, pattern=pattern).exists():
            raise ConflictError(f"{pattern} ({kind}) is already on your watchlist")
        if await owned.count() >= MAX_ENTRIES_PER_USER:
            raise ConflictError(
                f"your watchlist is full ({MAX_ENTRIES_PER_USER} entries); delete some first"
            )
        return await WatchlistEntry.create(
            owner_id=owner_id, kind=kind, pattern=pattern, label=label, using_db=conn
        )


async def list_for(owner_id: UUID) -> list[WatchlistEntry]:
    return list(await WatchlistEntry.filter(owner_id=owner_id).order_by("created_at", "id"))


async def delete(owner_id: UUID, entry_id: UUID) -> bool:
    """False when there is no such entry of this owner (missing or someone else's)."""
    return bool(await WatchlistEntry.filter(id=entry_id, owner_id=owner_id).delete())


def _watch_kind(kind: WatchlistKind) -> WatchKind:
    return "exact" if kind is WatchlistKind.EXACT else "pattern"


async def entries_for_matching(owner_id: UUID) -> list[tuple[WatchKind, str, str | None]]:
    """(kind, pattern, label) of each of the owner's entries, as `shared.plates.watch_matches`
    takes them."""
    entries = await WatchlistEntry.filter(owner_id=owner_id).order_by("created_at", "id")
    return [(_watch_kind(entry.kind), entry.pattern, entry.label) for entry in entries]
