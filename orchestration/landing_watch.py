"""What the landing sensor should run: plain logic, unit-tested on its own.

The sensor asks the loader which days have new or changed files and groups
the days into contiguous ranges so that one run per range re-materialises
them (late data for an old day included).

A file is taken when it is still: its size and mtime are the same at two
consecutive looks (one sensor tick apart), or its mtime is already older than
a tick (the look before would have agreed). A file that is complete on sight
is taken at the first look: a Parquet file whose footer is written (it ends
in the `PAR1` magic, which a writer puts last), which is what a copy under a
temporary name followed by an atomic rename produces. Temporary names
themselves are never listed (orchestration/ingest/landing.py).

The cursor (JSON) remembers the last look at each waiting file and the size
and mtime of each file already requested, so an evaluation that sees nothing
new requests nothing, and a run covers only the days of the files that are
new since the last request.

The fast path: a run for a small drop builds only what the new data changes.
The reference seeds are rebuilt only when their files changed (by checksum),
and the forecast backtest only when the drop rewrites history before
yesterday (late data) or has never run; the nightly schedule refreshes both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PARQUET_MAGIC = b"PAR1"

Look = tuple[int, float]  # size in bytes, mtime in seconds


@dataclass(frozen=True)
class WatchState:
    """What the sensor remembers between ticks (its cursor)."""

    looks: dict[str, Look] = field(default_factory=dict)  # waiting files, as last seen
    requested: dict[str, Look] = field(default_factory=dict)  # files a run was requested for
    reference_checksum: str | None = None  # of the reference files the last requested seed build read

    def to_cursor(self) -> str:
        return json.dumps(
            {
                "looks": {k: list(v) for k, v in sorted(self.looks.items())},
                "requested": {k: list(v) for k, v in sorted(self.requested.items())},
                "reference_checksum": self.reference_checksum,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_cursor(cls, cursor: str | None) -> WatchState:
        """A cursor this module wrote; anything else (none, an older format) starts afresh."""
        try:
            raw = json.loads(cursor or "")
        except ValueError:
            return cls()
        if not isinstance(raw, dict):
            return cls()
        return cls(
            looks={k: (int(v[0]), float(v[1])) for k, v in (raw.get("looks") or {}).items()},
            requested={k: (int(v[0]), float(v[1])) for k, v in (raw.get("requested") or {}).items()},
            reference_checksum=raw.get("reference_checksum"),
        )


@dataclass(frozen=True)
class LandingPlan:
    ranges: list[tuple[dt.date, dt.date]]
    state: WatchState
    waiting_files: list[str]
    files: list[str]  # the files the requested ranges cover

    @property
    def cursor(self) -> str:
        return self.state.to_cursor()


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


def complete_on_sight(path: Path, size: int) -> bool:
    """A Parquet file whose footer is written: its last four bytes are the magic a writer puts last."""
    if size < 2 * len(PARQUET_MAGIC) or not path.name.lower().endswith(".parquet"):
        return False
    try:
        with path.open("rb") as f:
            f.seek(size - len(PARQUET_MAGIC))
            return f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    except OSError:
        return False


def is_still(look: Look, previous: Look | None, now: float, tick_seconds: float) -> bool:
    """Two looks agree, or the file has not changed for longer than a tick."""
    return look == previous or now - look[1] >= tick_seconds


def plan_landing_runs(
    pending_days: Mapping[dt.date, list[str]],
    landing_dir: Path,
    previous: WatchState,
    now: float,
    tick_seconds: float,
) -> LandingPlan:
    """Decide which day ranges to run for the files the loader has not loaded yet.

    A day waits while any of its files may still be being written. Files
    requested before with the same size and mtime are not requested again
    (their run may still be queued or running).
    """
    looks: dict[str, Look] = {}
    waiting: set[str] = set()
    ready: dict[str, Look] = {}
    days_of: dict[str, set[dt.date]] = {}
    for day, files in pending_days.items():
        for rel in files:
            days_of.setdefault(rel, set()).add(day)
            if rel in looks or rel in ready:
                continue
            path = landing_dir / rel
            try:
                st = path.stat()
            except FileNotFoundError:
                continue  # removed since listing: nothing to load
            look = (st.st_size, st.st_mtime)
            if complete_on_sight(path, st.st_size) or is_still(look, previous.looks.get(rel), now, tick_seconds):
                ready[rel] = look
            else:
                looks[rel] = look
                waiting.add(rel)
    blocked_days = {day for rel in waiting for day in days_of[rel]}
    new_files = sorted(
        rel for rel, look in ready.items() if previous.requested.get(rel) != look and not (days_of[rel] & blocked_days)
    )
    days = {day for rel in new_files for day in days_of[rel]}
    # Forget requested files the loader no longer lists (loaded, or removed).
    requested = {rel: look for rel, look in previous.requested.items() if rel in days_of}
    requested.update({rel: ready[rel] for rel in new_files})
    state = WatchState(looks=looks, requested=requested, reference_checksum=previous.reference_checksum)
    return LandingPlan(contiguous_ranges(days), state, sorted(waiting), new_files)


def files_checksum(paths: Iterable[Path]) -> str:
    """sha256 over the names and contents of the files that exist among `paths`, in order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file():
            digest.update(path.name.encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def needs_reference_refresh(
    checksum: str, recorded: str | None, newest_file_mtime: float | None, last_built: float | None
) -> bool:
    """Rebuild the seeds when their files changed since the last build the sensor requested.

    Without a recorded checksum (the sensor's first tick), fall back to the
    instance: rebuild when the seeds were never built or a file is newer
    than their last build.
    """
    if recorded is not None:
        return checksum != recorded
    if last_built is None:
        return True
    return newest_file_mtime is not None and newest_file_mtime > last_built


def needs_backtest(ranges: Iterable[tuple[dt.date, dt.date]], today: dt.date, backtest_built: bool) -> bool:
    """The backtest scores past days: rerun it when a drop rewrites a day before yesterday, or it never ran."""
    if not backtest_built:
        return True
    yesterday = today - dt.timedelta(days=1)
    return any(first < yesterday for first, _ in ranges)


def needs_forecast(
    ranges: Iterable[tuple[dt.date, dt.date]], today: dt.date, forecast_built_on: dt.date | None
) -> bool:
    """The forecast is fitted on the days before today: refit when a drop rewrites one, or a day ended since.

    A drop of today's traces changes none of its history once it was built
    today (UTC), so the run skips it; the nightly run and the first drop of a
    new day refit it.
    """
    if forecast_built_on is None or forecast_built_on < today:
        return True
    return any(first < today for first, _ in ranges)
