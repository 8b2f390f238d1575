"""The one partitioning scheme: a day of span start time, UTC."""

import dagster as dg

from orchestration.settings import load_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=load_settings().partitions_start,
    timezone="UTC",
    end_offset=0,
)

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
