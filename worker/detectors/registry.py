"""Finds every Detector in plugins/ and caches one instance per distinct config, per process:
detectors keep no state between frames, so every stream shares them."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache, lru_cache
from typing import Any

from shared.params import DetectorParams, JobParams
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


def merge_order(params: JobParams) -> list[DetectorParams]:
    """The job's detectors, resolved, in the order their boxes are merged: as listed, moved by
    their class's `merge_priority`. A kind without a Detector class (`motion`, which its
    analyser finds because it compares each frame with the last) keeps its place."""
    classes = detector_classes()
    return sorted(
        params.resolved_detectors(),
        key=lambda config: classes[config.kind].merge_priority if config.kind in classes else 0,
    )


def build_detectors(order: list[DetectorParams]) -> list[Detector[DetectorParams]]:
    """The shared detector of each config in `order` that has a Detector class."""
    classes = detector_classes()
    return [get_detector(config) for config in order if config.kind in classes]
