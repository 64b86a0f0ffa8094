"""The operators' command line, against the configured database (`python -m api.admin`).

    python -m api.admin create-user EMAIL [--password-stdin] [--superuser] [--full-name NAME]
    python -m api.admin invite [--expires-days N]     # prints a single-use sign-up code, once
    python -m api.admin list-users                    # one JSON object a line
    python -m api.admin disable-user EMAIL            # refused from the next request on
    python -m api.admin enable-user EMAIL

It is how accounts are made when VIGIL_SIGNUP is `closed`, and how invite codes are made when
it is `invite`. Exit status: 0 done, 1 refused (the reason on stderr), 2 bad usage."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import redis.asyncio as aioredis
from pydantic import ValidationError
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from api.auth.schemas import SignupCreate
from api.auth.security import hash_password
from api.cameras.service import nudge
from api.invites import service as invites
from api.webrtc import service as live_view
from shared.db.config import tortoise_config
from shared.errors import AppError
from shared.repositories import accounts
from shared.repositories import audit as audit_repo
from shared.repositories import cameras as cameras_repo
from shared.repositories import users as users_repo
from shared.settings import get_settings

DEFAULT_INVITE_DAYS = 7
MAX_INVITE_DAYS = 365


class Refused(Exception):
    """What the operator asked for cannot be done; the message says why."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise Refused("the passwords differ")
    return password


async def create_user(args: argparse.Namespace) -> None:
    password = _read_password(args.password_stdin)
    try:
        # The sign-up form's own rules: a valid address, a password of the allowed length.
        data = SignupCreate(email=args.email, password=password, full_name=args.full_name)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Refused(problems) from exc
    if await users_repo.get_by_email(data.email):
        raise Refused(f"an account with the email {data.email} exists already")
    try:
        user = await users_repo.create(data.email, await hash_password(password), data.full_name)
    except IntegrityError as exc:  # a sign-up took the address meanwhile
        raise Refused(f"an account with the email {data.email} exists already") from exc
    if args.superuser:
        await accounts.set_superuser(user.id)
    await audit_repo.record("user_created_by_operator", user.id, None, superuser=args.superuser)
    print(json.dumps({"id": str(user.id), "email": user.email}))


async def invite(args: argparse.Namespace) -> None:
    code, made = await invites.make(timedelta(days=args.expires_days))
    print(
        f"invite code (shown only now), valid until {made.expires_at.isoformat()}:", file=sys.stderr
    )
    print(code)


async def list_users(_: argparse.Namespace) -> None:
    for user in await accounts.list_all():
        print(
            json.dumps(
                {
                    "id": str(user.id),
                    "email": user.email,
                    "full_name": user.full_name,
                    "is_active": user.is_active,
                    "is_superuser": user.is_superuser,
                    "created_at": user.created_at.isoformat(),
                }
            )
        )


def _set_active(active: bool) -> Callable[[argparse.Namespace], Awaitable[None]]:
    async def command(args: argparse.Namespace) -> None:
        if not await accounts.set_active(args.email, active):
            raise Refused(f"no account with the email {args.email}")
        user = await users_repo.get_by_email(args.email)
        action = "user_enabled_by_operator" if active else "user_disabled_by_operator"
        await audit_repo.record(action, user.id if user else None, None)
        if user is not None:
            await _nudge_runners(user.id, end_live_view=not active)

    return command


async def _nudge_runners(owner_id: UUID, end_live_view: bool) -> None:
    """The camera runners stop (or may start) the owner's cameras now rather than at their
    next lease renewal: they look at the owner's account at each renewal and claim. A disabled
    account's live view sessions are closed too."""
    cameras = await cameras_repo.list_for(owner_id, active_only=True)
    client = aioredis.Redis.from_url(
        get_settings().redis_url, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        await nudge(client, [camera.id for camera in cameras])
        if end_live_view:
            await live_view.end_sessions_of_credentials(
                client, owner_id, live_view.every_session, "account disabled"
            )
    finally:
        await client.aclose()


def _days(value: str) -> int:
    days = int(value)
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_INVITE_DAYS}")
    return days


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m api.admin", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create-user", help="create an account (prompts for a password)")
    create.add_argument("email")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    create.add_argument("--superuser", action="store_true")
    create.add_argument("--full-name")
    create.set_defaults(run=create_user)

    made = commands.add_parser(
        "invite", help="print a single-use sign-up code (VIGIL_SIGNUP=invite)"
    )
    made.add_argument("--expires-days", type=_days, default=DEFAULT_INVITE_DAYS, metavar="N")
    made.set_defaults(run=invite)

    commands.add_parser("list-users", help="every account, oldest first").set_defaults(
        run=list_users
    )
    for name, active in (("disable-user", False), ("enable-user", True)):
        switch = commands.add_parser(name, help=f"{name.split('-')[0]} an account")
        switch.add_argument("email")
        switch.set_defaults(run=_set_active(active))
    return root


async def _run(
    command: Callable[[argparse.Namespace], Awaitable[None]], args: argparse.Namespace
) -> None:
    await Tortoise.init(config=tortoise_config())
    try:
        await command(args)
    finally:
        await Tortoise.close_connections()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(_run(args.run, args))
    except (Refused, AppError) as exc:
        print(f"vigil-admin: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
