"""Who may sign up (VIGIL_SIGNUP), and the single-use invite codes of the `invite` mode."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from shared.db.models import Invite, User
from shared.errors import ForbiddenError
from shared.repositories import invites as repo
from shared.settings import get_settings

CODE_PREFIX = "vi_"


def hash_code(code: str) -> str:
    """A plain SHA-256 is enough: codes are 192 random bits, so no guess list can reach one."""
    return hashlib.sha256(code.encode()).hexdigest()


async def make(valid_for: timedelta) -> tuple[str, Invite]:
    """A new invite; the code is returned here only, the table keeps its hash."""
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    invite = await repo.create(hash_code(code), datetime.now(UTC) + valid_for)
    return code, invite


async def admit(invite_code: str | None, create_user: Callable[[], Awaitable[User]]) -> User:
    """The user `create_user` makes, if the sign-up mode lets them in. In `invite` mode the
    code is used up in the transaction that creates the user, so a sign-up refused for
    another reason (the e-mail is taken) leaves the code usable."""
    mode = get_settings().signup_mode
    if mode == "closed":
        raise ForbiddenError("sign-up is closed on this server: ask its operator for an account")
    if mode == "open":
        return await create_user()
    if not invite_code:
        raise ForbiddenError("sign-up on this server needs an invite code: send `invite_code`")
    async with in_transaction():
        invite_id = await repo.claim(hash_code(invite_code), datetime.now(UTC))
        if invite_id is None:
            raise ForbiddenError("this invite code is unknown, expired or already used")
        user = await create_user()
        await repo.record_user(invite_id, user.id)
    return user
