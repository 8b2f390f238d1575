"""What the landing sensor should run: plain logic, unit-tested on its own.

The sensor asks the loader which days have new or changed files, waits until
those files have stopped changing (debounce), and groups the days into
contiguous ranges so that one run per range re-materialises them (late data
for an old day included). The cursor is a fingerprint of the files already
requested, so an evaluation that sees nothing new requests nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandingPlan:
    ranges: list[tuple[dt.date, dt.date]]
    cursor: str
    waiting_files: list[str]


def contiguous_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """[(first, last)] for each run of consecutive days, in order."""
    ordered = sorted(set(days))
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _fingerprint(file_stats: Mapping[str, tuple[int, float]]) -> str:
    payload = json.dumps(sorted((path, size, mtime) for path, (size, mtime) in file_stats.items()))
    return hashlib.sha256(payload.encode()).hexdigest()


def plan_landing_runs(
    pending_days: Mapping[dt.date, list[str]],
    landing_dir: Path,
    previous_cursor: str | None,
    now: float,
    debounce_seconds: float,
) -> LandingPlan:
    """Decide which day ranges to run for the files the loader has not loaded yet.

    A file modified less than `debounce_seconds` ago may still be being
    written: its days wait for a later evaluation.
    """
    stats: dict[str, tuple[int, float]] = {}
    waiting: set[str] = set()
    ready_days: set[dt.date] = set()
    for day, files in pending_days.items():
        day_ready = True
        for rel in files:
            path = landing_dir / rel
            try:
                st = path.stat()
            except FileNotFoundError:
                continue  # removed since listing: nothing to load
            stats[rel] = (st.st_size, st.st_mtime)
            if now - st.st_mtime < debounce_seconds:
                waiting.add(rel)
                day_ready = False
        if day_ready:
            ready_days.add(day)
    ready_stats = {p: s for p, s in stats.items() if p not in waiting}
    cursor = _fingerprint(ready_stats)
    if not ready_days or cursor == previous_cursor:
        return LandingPlan([], previous_cursor or "", sorted(waiting))
    return LandingPlan(contiguous_ranges(ready_days), cursor, sorted(waiting))
