"""Finds every Detector in plugins/ and caches one instance per distinct config, per process."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache, lru_cache
from typing import Any

from shared.params import DetectorParams
from worker.detectors import plugins
from worker.detectors.base import Detector


@cache
def detector_classes() -> dict[str, type[Detector[Any]]]:
    for module in pkgutil.iter_modules(plugins.__path__):
        importlib.import_module(f"{plugins.__name__}.{module.name}")
    found: dict[str, type[Detector[Any]]] = {}
    stack: list[type[Detector[Any]]] = list(Detector.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "kind", None):
            found[cls.kind] = cls
    return found


@lru_cache(maxsize=32)
def get_detector(config: DetectorParams) -> Detector[DetectorParams]:
    try:
        cls = detector_classes()[config.kind]
    except KeyError:
        raise ValueError(f"unknown detector kind {config.kind!r}") from None
    return cls(config)
