"""The one partitioning scheme: a day of span start time, UTC, today included.

Today is a partition (`end_offset=1`): a file dropped this morning is loaded
by a partitioned run like any other day, and the day's materialisations are
recorded against it. The first partition is AGENTLEDGER_PARTITIONS_START when
set; otherwise the earliest call in the published copy (the data that has
landed), so "missing" in the UI means a day with no load, not a day before the
data began. Before anything is published, the first partition is the earliest
day the loader accepts at all (AGENTLEDGER_MAX_SPAN_AGE_DAYS ago).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings, load_ingest_settings, load_settings


def earliest_published_day(published: Path) -> dt.date | None:
    """The first call date in the published copy, or None when there is none (yet).

    The published file is swapped in whole and never written in place, so
    reading it never waits for, or blocks, a run.
    """
    if not published.exists():
        return None
    import duckdb

    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return None
    try:
        first = con.execute("select min(call_date) from marts.fct_llm_calls").fetchone()[0]
    except duckdb.Error:
        first = None
    finally:
        con.close()
    return first


def first_partition_day(settings: Settings, today: dt.date | None = None) -> dt.date:
    """Configured start, else the earliest landed day, else the oldest day the loader accepts."""
    if settings.partitions_start:
        try:
            return dt.date.fromisoformat(settings.partitions_start)
        except ValueError as exc:
            raise ValueError(
                f"AGENTLEDGER_PARTITIONS_START={settings.partitions_start!r} is not a date; expected YYYY-MM-DD"
            ) from exc
    landed = earliest_published_day(settings.published_warehouse_path)
    if landed is not None:
        return landed
    today = today or dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=load_ingest_settings().max_span_age_days)


def build_daily_partitions(first_day: dt.date) -> dg.DailyPartitionsDefinition:
    """Daily partitions from `first_day` through today (UTC)."""
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), timezone="UTC", end_offset=1)


daily_partitions = build_daily_partitions(first_partition_day(load_settings()))

# DuckDB accepts one writer process: every asset that writes the working file
# runs in this pool, whose limit dagster.yaml sets to 1.
DUCKDB_WRITER_POOL = "duckdb_writer"

# Tags Dagster sets on a run of one partition, or of a range of partitions.
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def run_partition_days(tags: dict[str, str]) -> tuple[str, str] | None:
    """First and last day (ISO dates) of the partitions a run covers; None for a run that names none."""
    first = tags.get(PARTITION_RANGE_START) or tags.get(PARTITION_TAG)
    last = tags.get(PARTITION_RANGE_END) or tags.get(PARTITION_TAG)
    return (first, last) if first and last else None
