"""The camera benchmark's table (markdown, so it can be pasted into the docs as printed) and its
JSON document, from the same goals."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.camera_goals import Goal
from bench.common import show


def header_lines(model: str, load: float) -> list[str]:
    # The machine is shared: the load says how far to trust the figures.
    return [f"cameras  {model}  ({os.cpu_count()} CPUs, load {load:.2f} at start)"]


def progress_lines(goals: list[Goal]) -> list[str]:
    return [f"  {goal.verdict:<4}  {goal.name}: {goal.measured}" for goal in goals]


def table_lines(goals: dict[str, Goal], minutes: float, load: float) -> list[str]:
    lines = [
        "",
        "| goal | target | measured | verdict |",
        "|---|---|---|---|",
        *(f"| {g.name} | {g.target} | {g.measured} | {g.verdict} |" for g in goals.values()),
    ]
    notes = [f"- {g.name}: {note}" for g in goals.values() for note in g.notes]
    lines += ["", *notes] if notes else []
    lines.append(f"\nmeasured in {minutes:.1f} min; load average {load:.2f} at the end")
    return lines


def write_json(path: Path, goals: dict[str, Goal], meta: dict[str, Any]) -> None:
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        **meta,
        "goals": {
            key: {
                "goal": goal.name,
                "target": goal.target,
                "measured": goal.measured,
                "verdict": goal.verdict,
                "figures": goal.figures,
                "notes": goal.notes,
            }
            for key, goal in goals.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def measure(goals: list[Goal], scenario: Callable[[], None]) -> None:
    """Run a scenario; a failure marks the goals it left unmeasured, and the run goes on."""
    try:
        scenario()
    except Exception as exc:  # a broken scenario is a finding; the next ones still run
        for goal in goals:
            if goal.passed is None:
                goal.measured, goal.passed = f"failed: {type(exc).__name__}: {exc}", False
    decided = [goal for goal in goals if goal.passed is not None]
    if decided:
        show(progress_lines(decided))
