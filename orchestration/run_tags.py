"""Run tags that say what a pipeline run covers: its days and the landing files it loads.

Dagster shows a run's tags in the run list and on the run page, and filters
runs by them, so `agentledger/days:2026-10-01..2026-10-03` answers "which run
loaded that day?" and `agentledger/files` "which run took my file?". The
partition range tags (orchestration/partitions.py) drive the run; these only
describe it.

The ingestion asset tags its own run with the files it actually read (so
every run has them, however it was started); a sensor can set the same tags
on the runs it requests with `landing_coverage_tags`, so that queued runs
show them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

DAYS_TAG = "agentledger/days"
DAY_COUNT_TAG = "agentledger/day_count"
FILES_TAG = "agentledger/files"
FILE_COUNT_TAG = "agentledger/file_count"
# The files tag lists this many files, then says how many more: a tag is for reading.
MAX_LISTED_FILES = 10


def days_label(first: dt.date, last: dt.date) -> str:
    """`2026-10-01` for one day, `2026-10-01..2026-10-03` for a range (inclusive)."""
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def files_label(files: Iterable[str]) -> str:
    """The files (paths under the landing folder), sorted, the first MAX_LISTED_FILES of them named."""
    ordered = sorted(set(files))
    if not ordered:
        return "none new"
    listed = ", ".join(ordered[:MAX_LISTED_FILES])
    more = len(ordered) - MAX_LISTED_FILES
    return f"{listed} and {more} more" if more > 0 else listed


def coverage_tags(first: dt.date, last: dt.date, files: Iterable[str]) -> dict[str, str]:
    """Tags for a run over the days [first, last] that loads `files`."""
    files = sorted(set(files))
    return {
        DAYS_TAG: days_label(first, last),
        DAY_COUNT_TAG: str((last - first).days + 1),
        FILES_TAG: files_label(files),
        FILE_COUNT_TAG: str(len(files)),
    }


def landing_coverage_tags(pending: Mapping[dt.date, Iterable[str]], first: dt.date, last: dt.date) -> dict[str, str]:
    """coverage_tags for one requested range, given the loader's pending files by day (`pending_days`)."""
    files = [f for day, day_files in pending.items() if first <= day <= last for f in day_files]
    return coverage_tags(first, last, files)


def files_of_last_load(con, first: dt.date, last: dt.date) -> list[str]:
    """The landing files the last load of [first, last] read (loaded or quarantined), from raw.ingestion_ledger."""
    rows = con.execute(
        """select distinct source_file from raw.ingestion_ledger
        where loaded_at = (select max(loaded_at) from raw.ingestion_ledger)
          and window_start = ? and window_end = ? and status <> 'skipped_unchanged'""",
        [first, last],
    ).fetchall()
    return [r[0] for r in rows]
