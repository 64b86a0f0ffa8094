"""`vigil`: Vigil's API from the command line (submit, wait, results, API keys, cameras and
their events), and
`vigil analyze` (the embedded pipeline without any service) and `vigil models` (weights for
it and for the workers), which need the Vigil service's code.

Credentials: --api-key / VIGIL_API_KEY, or --token / VIGIL_TOKEN (an access token).
Exit status: 0 done, 1 the API refused or a job failed, 2 bad usage."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from vigil_sdk._core import DEFAULT_URL
from vigil_sdk.client import Client
from vigil_sdk.errors import JobTimeoutError, ValidationError, VigilError
from vigil_sdk.params import parse_pairs
from vigil_sdk.sse import ServerEvent
from vigil_sdk.uploads import upload_type

USAGE_ERROR = 2
FAILED = 1


class UsageError(Exception):
    pass


def _print_json(value: Any, indent: int | None = 2) -> None:
    print(json.dumps(value, indent=indent, default=str))


def _job_params(args: argparse.Namespace) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    if args.params_json:
        try:
            loaded = json.loads(args.params_json)
        except ValueError as exc:
            raise UsageError(f"--params-json is not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UsageError("--params-json must be a JSON object")
        params |= loaded
    try:
        params |= parse_pairs(args.param)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return params or None


def _check_files(files: list[Path]) -> None:
    for path in files:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        try:
            upload_type(path)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc


def _wait_all(client: Client, job_ids: list[str], args: argparse.Namespace) -> int:
    """Wait for each job, print its final status as one JSON line; 1 if any failed."""
    outcome = 0
    for job_id in job_ids:
        status = client.wait(job_id, timeout=args.timeout, progress=not args.no_progress)
        _print_json(status.model_dump(mode="json"), indent=None)
        if status.status != "completed":
            outcome = FAILED
    return outcome


def cmd_submit(client: Client, args: argparse.Namespace) -> int:
    params = _job_params(args)
    _check_files(args.files)
    outcome = 0
    if len(args.files) == 1:
        job_ids = [str(client.submit(args.files[0], params, callback_url=args.callback_url).job_id)]
    else:
        batch = client.submit_batch(args.files, params, callback_url=args.callback_url)
        job_ids = [str(item.job_id) for item in batch.jobs if item.job_id is not None]
        for item in batch.jobs:
            if not item.accepted:
                print(f"vigil: {item.filename}: {item.detail or item.error}", file=sys.stderr)
                outcome = FAILED
    if not args.wait:
        print("\n".join(job_ids))
        return outcome
    return max(outcome, _wait_all(client, job_ids, args))


def cmd_status(client: Client, args: argparse.Namespace) -> int:
    _print_json(client.status(args.job_id).model_dump(mode="json"))
    return 0


def cmd_wait(client: Client, args: argparse.Namespace) -> int:
    return _wait_all(client, [args.job_id], args)


def cmd_results(client: Client, args: argparse.Namespace) -> int:
    if not args.all:
        results = client.results(args.job_id, args.page, args.page_size)
        _print_json(results.model_dump(mode="json"))
        return 0
    head = client.results(args.job_id, 1, 1).model_dump(mode="json")
    frames = [frame.model_dump(mode="json") for frame in client.iter_frames(args.job_id)]
    pagination = {"page": 1, "page_size": len(frames), "total_frames": len(frames), "pages": 1}
    _print_json(head | {"frames": frames, "pagination": pagination})
    return 0


def cmd_annotated(client: Client, args: argparse.Namespace) -> int:
    path = client.download_annotated(args.job_id, args.output)
    print(path)
    return 0


def cmd_jobs(client: Client, args: argparse.Namespace) -> int:
    _print_json(client.list_jobs(args.status, args.page, args.page_size).model_dump(mode="json"))
    return 0


def _print_events(events: Iterable[ServerEvent]) -> None:
    for event in events:
        _print_json(event, indent=None)
        sys.stdout.flush()


# `vigil events JOB_ID` follows a job; `vigil events tail` the camera events.
TAIL = "tail"


def cmd_events(client: Client, args: argparse.Namespace) -> int:
    if args.target != TAIL:
        if args.camera is not None:
            raise UsageError("--camera goes with `vigil events tail`, not with a job id")
        _print_events(client.events(args.target))
        return 0
    _print_events(client.iter_camera_events(args.camera, last_event_id=args.last_event_id))
    return 0


def _camera_params(value: str | None) -> dict[str, Any] | None:
    """--params: a JSON object, or @FILE holding one."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text()
        except OSError as exc:
            raise UsageError(f"--params: cannot read {value[1:]}: {exc.strerror}") from exc
    try:
        params = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--params is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise UsageError("--params must be a JSON object")
    return params


def cmd_camera_add(client: Client, args: argparse.Namespace) -> int:
    camera = client.add_camera(
        args.camera_id,
        args.stream_url,
        name=args.name,
        parameters=_camera_params(args.params),
        active=not args.inactive,
    )
    _print_json(camera.model_dump(mode="json"))
    return 0


def cmd_camera_list(client: Client, args: argparse.Namespace) -> int:
    page = client.list_cameras(
        state=args.state, status=args.status, page=args.page, page_size=args.page_size
    )
    _print_json(page.model_dump(mode="json"))
    return 0


def cmd_camera_show(client: Client, args: argparse.Namespace) -> int:
    _print_json(client.get_camera(args.camera_id).model_dump(mode="json"))
    return 0


def cmd_camera_rm(client: Client, args: argparse.Namespace) -> int:
    client.delete_camera(args.camera_id)
    return 0


def _sign_in_if_asked(client: Client, args: argparse.Namespace) -> None:
    if not args.email:
        return
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.email}: ")
    client.signin(args.email, password)


def cmd_api_key_create(client: Client, args: argparse.Namespace) -> int:
    _sign_in_if_asked(client, args)
    expires_at = None
    if args.expires_days is not None:
        expires_at = datetime.now(UTC) + timedelta(days=args.expires_days)
    created = client.create_api_key(args.name, scopes=args.scope, expires_at=expires_at)
    print(f"API key {created.name!r} ({created.id}); it is shown only now:", file=sys.stderr)
    print(created.key)
    return 0


def cmd_api_key_list(client: Client, args: argparse.Namespace) -> int:
    _sign_in_if_asked(client, args)
    keys = client.list_api_keys(include_revoked=args.include_revoked)
    _print_json([key.model_dump(mode="json") for key in keys])
    return 0


def cmd_api_key_revoke(client: Client, args: argparse.Namespace) -> int:
    _sign_in_if_asked(client, args)
    client.revoke_api_key(args.key_id)
    return 0


# Commands handed to worker.cli with their arguments untouched.
EMBEDDED_COMMANDS = ("analyze", "models")


def cmd_embedded(command: str, arguments: list[str]) -> int:
    # Imported here: the SDK alone (pip install ./sdk) has none of the worker's dependencies.
    try:
        from worker import cli as embedded
    except ImportError as exc:
        print(
            f"vigil: `vigil {command}` runs in-process and needs the Vigil service's "
            f"code and its worker dependencies (pip install -e '.[worker]'): {exc}",
            file=sys.stderr,
        )
        return FAILED
    return embedded.main([command, *arguments])


Handler = Callable[[Client, argparse.Namespace], int]


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--timeout", type=float, help="give up waiting after this many seconds")


def _signin_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--email", help="sign in as this account instead of using a key/token")
    parent.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, no prompt"
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=os.environ.get("VIGIL_URL", DEFAULT_URL))
    parser.add_argument("--api-key", default=os.environ.get("VIGIL_API_KEY"))
    parser.add_argument("--token", default=os.environ.get("VIGIL_TOKEN"), help="access token")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser("submit", help="upload images/videos; prints the job ids")
    submit.add_argument("files", type=Path, nargs="+", metavar="FILE")
    submit.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    submit.add_argument("--params-json", metavar="JSON", help="a JSON object of job params")
    submit.add_argument("--callback-url", metavar="URL", help="POSTed when the job finishes")
    submit.add_argument("--wait", action="store_true", help="wait; print final statuses")
    _wait_options(submit)
    submit.set_defaults(handler=cmd_submit)

    status = commands.add_parser("status", help="a job's status as JSON")
    status.add_argument("job_id")
    status.set_defaults(handler=cmd_status)

    wait = commands.add_parser("wait", help="wait for a job; print its final status")
    wait.add_argument("job_id")
    _wait_options(wait)
    wait.set_defaults(handler=cmd_wait)

    results = commands.add_parser("results", help="a completed job's results as JSON")
    results.add_argument("job_id")
    results.add_argument("--page", type=int, default=1)
    results.add_argument("--page-size", type=int, default=100)
    results.add_argument("--all", action="store_true", help="every frame, all pages")
    results.set_defaults(handler=cmd_results)

    annotated = commands.add_parser("annotated", help="download the annotated JPEG/MP4")
    annotated.add_argument("job_id")
    annotated.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    annotated.set_defaults(handler=cmd_annotated)

    jobs = commands.add_parser("jobs", help="your jobs, newest first")
    jobs.add_argument("--status")
    jobs.add_argument("--page", type=int, default=1)
    jobs.add_argument("--page-size", type=int, default=20)
    jobs.set_defaults(handler=cmd_jobs)

    events = commands.add_parser(
        "events",
        help="a job's live events, or with `tail` the camera events; one JSON line each",
    )
    events.add_argument("target", metavar="JOB_ID|tail", help="a job id, or `tail`")
    events.add_argument("--camera", metavar="CAMERA_ID", help="tail: this camera's events only")
    events.add_argument(
        "--last-event-id", metavar="ID", help="tail: resume after this event (its `id`)"
    )
    events.set_defaults(handler=cmd_events)

    cameras = commands.add_parser("cameras", help="register, list, show and remove cameras")
    camera_commands = cameras.add_subparsers(dest="camera_command", required=True, metavar="ACTION")
    add = camera_commands.add_parser("add", help="register a camera; prints it")
    add.add_argument("camera_id")
    add.add_argument("stream_url", help="rtsp:// or rtsps:// (credentials are stored encrypted)")
    add.add_argument("--name")
    add.add_argument("--params", metavar="JSON|@FILE", help="the camera's parameters")
    add.add_argument("--inactive", action="store_true", help="register it without starting it")
    add.set_defaults(handler=cmd_camera_add)
    camera_list = camera_commands.add_parser("list", help="your cameras by camera_id")
    camera_list.add_argument("--state", help="online, offline, reconnecting, pending, ...")
    camera_list.add_argument("--status", choices=("active", "inactive"))
    camera_list.add_argument("--page", type=int, default=1)
    camera_list.add_argument("--page-size", type=int, default=20)
    camera_list.set_defaults(handler=cmd_camera_list)
    show = camera_commands.add_parser("show", help="a camera with what its runner reports")
    show.add_argument("camera_id")
    show.set_defaults(handler=cmd_camera_show)
    remove = camera_commands.add_parser("rm", help="stop and delete a camera")
    remove.add_argument("camera_id")
    remove.set_defaults(handler=cmd_camera_rm)

    keys = commands.add_parser("api-key", help="create, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    signin = _signin_options()
    create = key_commands.add_parser("create", parents=[signin], help="prints the key, once")
    create.add_argument("name")
    create.add_argument(
        "--scope",
        action="append",
        choices=("read", "write", "admin"),
        help="repeatable; default: the server's (read and write)",
    )
    create.add_argument("--expires-days", type=float, metavar="N", help="default: never")
    create.set_defaults(handler=cmd_api_key_create)
    listing = key_commands.add_parser("list", parents=[signin])
    listing.add_argument("--include-revoked", action="store_true")
    listing.set_defaults(handler=cmd_api_key_list)
    revoke = key_commands.add_parser("revoke", parents=[signin])
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=cmd_api_key_revoke)

    # Its arguments are worker.cli's own, passed on untouched (main() parses leniently).
    commands.add_parser(
        "analyze",
        help="analyse a file in-process, no services (vigil analyze FILE --param k=v ...)",
        add_help=False,
    )
    commands.add_parser(
        "models",
        help="download or export detector weights (vigil models fetch | export PATH.pt)",
        add_help=False,
    )
    return parser


def _describe(exc: VigilError) -> str:
    if isinstance(exc, ValidationError) and exc.fields:
        return "; ".join(f"{f.get('field')}: {f.get('message')}" for f in exc.fields)
    return f"{exc.detail} ({exc.status_code} {exc.code})"


def _run(handler: Handler, args: argparse.Namespace) -> int:
    signs_in = getattr(args, "email", None)
    if not (args.api_key or args.token or signs_in):
        raise UsageError("no credentials: pass --api-key or set VIGIL_API_KEY (or --token)")
    with Client(args.url, api_key=args.api_key, access_token=args.token) as client:
        return handler(client, args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in EMBEDDED_COMMANDS:
        return cmd_embedded(args.command, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return _run(args.handler, args)
    except UsageError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except VigilError as exc:
        print(f"vigil: {_describe(exc)}", file=sys.stderr)
        return FAILED
    except JobTimeoutError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return FAILED
    except httpx.HTTPError as exc:
        print(f"vigil: cannot reach the API at {args.url}: {exc}", file=sys.stderr)
        return FAILED
    except OSError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
