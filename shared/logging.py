"""One logging setup for every process; records carry the job id where there is one."""

from __future__ import annotations

import logging

from shared.settings import get_settings

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def configure_logging() -> None:
    logging.basicConfig(level=get_settings().log_level.upper(), format=FORMAT)
    # The API's access log (api/observe.py) is the request record: kept whatever the level.
    logging.getLogger("vigil.access").setLevel(logging.INFO)
