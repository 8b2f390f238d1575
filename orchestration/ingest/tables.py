"""The loader's tables in the raw schema, the connection it writes with, and two small helpers over them."""

from __future__ import annotations

import duckdb

from orchestration.contract import RAW_SCHEMA, RAW_SPANS_TABLE, TRACE_FIELDS, raw_table_ddl
from orchestration.ingest.options import IngestOptions
from orchestration.settings import Settings

QUARANTINE_TABLE = f"{RAW_SCHEMA}.quarantine"
LEDGER_TABLE = f"{RAW_SCHEMA}.ingestion_ledger"
MANIFEST_TABLE = f"{RAW_SCHEMA}.landing_manifest"

QUARANTINE_DDL = f"""create table if not exists {QUARANTINE_TABLE} (
    source_file VARCHAR,      -- landing-relative path
    source_row BIGINT,        -- _source_row of the record; null for a whole unparseable file or an unreadable line
    source_line BIGINT,       -- line in the file when known (JSON Lines, OTLP, rejected CSV lines)
    source_format VARCHAR,
    checksum VARCHAR,
    partition_day DATE,
    rule VARCHAR,             -- first failing rule
    field VARCHAR,
    message VARCHAR,          -- names file, row, field and what was expected
    failed_rules VARCHAR[],   -- every rule the record failed
    raw_record JSON,          -- the record as read, content stripped, user_id hashed
    quarantined_at TIMESTAMP
)"""

LEDGER_DDL = f"""create table if not exists {LEDGER_TABLE} (
    source_file VARCHAR,
    checksum VARCHAR,
    size_bytes BIGINT,
    file_mtime_ns BIGINT,
    source_format VARCHAR,
    partition_day DATE,
    window_start DATE,
    window_end DATE,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    duplicates_skipped BIGINT,
    rows_replaced BIGINT,
    status VARCHAR,           -- loaded, skipped_unchanged, unparseable
    message VARCHAR,
    loaded_at TIMESTAMP
)"""

# What each file version holds per partition day, so later windows and the
# landing sensor know a file's days without reading it again.
MANIFEST_DDL = f"""create table if not exists {MANIFEST_TABLE} (
    source_file VARCHAR,
    checksum VARCHAR,
    size_bytes BIGINT,
    file_mtime_ns BIGINT,
    source_format VARCHAR,
    partition_day DATE,
    rows BIGINT,
    scanned_at TIMESTAMP
)"""


def configure(con: duckdb.DuckDBPyConnection, options: IngestOptions) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = '{options.memory_limit}'")
    con.execute(f"set threads = {int(options.threads)}")
    # No statement relies on the order rows are written in, except the reads
    # of text files, whose line numbers follow the scan: the loader turns
    # ordering on around those alone. Unordered inserts stream without
    # buffering rows to restore their order.
    con.execute("set preserve_insertion_order = false")


def connect_warehouse(settings: Settings, options: IngestOptions) -> duckdb.DuckDBPyConnection:
    """Open the working DuckDB file for writing and make sure the raw tables exist."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    configure(con, options)
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(raw_table_ddl())
    # A warehouse written before a contract field existed gains it (null for
    # the rows already loaded, which is what they carried).
    for f in TRACE_FIELDS:
        con.execute(f"alter table {RAW_SPANS_TABLE} add column if not exists {f.name} {f.duckdb_type}")
    for ddl in (QUARANTINE_DDL, LEDGER_DDL, MANIFEST_DDL):
        con.execute(ddl)
    return con


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], chunk: int = 500) -> None:
    """Insert Python tuples with a few multi-row statements (executemany runs one statement per row)."""
    if not rows:
        return
    width = len(rows[0])
    placeholders = "(" + ", ".join(["?"] * width) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(
            f"insert into {table} values " + ", ".join([placeholders] * len(part)),
            [v for row in part for v in row],
        )
