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
