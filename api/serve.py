"""`python -m api.serve [uvicorn options]`: uvicorn serving the API with VIGIL_API_WORKERS
processes, one per core unless set, as the API image and `make run` start it.

One process answers on one core: a second core serves nothing unless a second process takes
it. Nothing the API keeps in memory has to be shared between its processes: rate limits,
event-stream counts, live view sessions and the HTTP metrics are in Redis; health reports and
verified tokens are caches, each process its own."""

from __future__ import annotations

import os
import sys

from shared.settings import Settings, get_settings

APP = "api.main:app"


def command(settings: Settings, options: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", APP, "--workers", str(settings.api_processes), *options
    ]  # fmt: skip


def main() -> None:
    argv = command(get_settings(), sys.argv[1:])
    # exec: uvicorn takes this process over (PID 1 in the image) and gets its signals.
    os.execv(argv[0], argv)  # noqa: S606 (our interpreter, our arguments: no shell involved)


if __name__ == "__main__":
    main()
