"""Publish a read-only copy of the marts for analysts and the report site.

DuckDB allows one writer process per file and any other process holding the
file blocks it, so readers never open the working warehouse. After a
successful run the consumer-facing tables are copied into a NEW file which is
then swapped in with `os.replace`: a reader holding the previous file keeps
its inode and its consistent view, a new reader sees the complete new file,
and nobody ever sees a half-written one. A failed publish deletes its
temporary file and leaves the previous published file untouched.

The copy is written with storage compatibility v1.0.0 because Evidence's
DuckDB node driver (1.4.x) cannot open the default format of duckdb 2.0.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.settings import Settings

# Schemas copied table by table (views are materialised as tables, since the
# layers they read are not published).
PUBLISHED_SCHEMAS = ("marts", "signals", "reference")
QUALITY_SCHEMA = "quality"
STORAGE_VERSION = "v1.0.0"

# Published summary of raw.quarantine (orchestration/ingest/tables.py): WHY
# rows were rejected and WHERE they came from, counted per data day and day of
# loading. The rejected records themselves (`raw_record`, `message`) are not
# published: they can hold values that ingestion never vetted.
QUARANTINE_SUMMARY_SQL = """
select
    partition_day,
    cast(quarantined_at as date) as quarantined_on,
    source_file,
    source_format,
    rule,
    field,
    count(*) as quarantined_rows
from src.raw.quarantine
group by all
order by partition_day, quarantined_on, source_file, rule, field
"""


class PublishError(RuntimeError):
    """Raised when the published copy cannot be produced; the previous copy stays."""


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # "schema.table" -> rows
    parquet_dir: Path | None
    duration_s: float
    skipped_schemas: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = conn.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = 'src' and table_schema in ({})
        order by table_schema, table_name
        """.format(", ".join("?" for _ in PUBLISHED_SCHEMAS)),
        list(PUBLISHED_SCHEMAS),
    ).fetchall()
    return [(schema, name) for schema, name in rows]


def _columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = 'src' and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _quality_statements(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(published table, select) pairs for the ingestion quality tables that exist."""
    statements: list[tuple[str, str]] = []
    if _columns(conn, "raw", "ingestion_ledger"):
        statements.append(("ingestion_ledger", "select * from src.raw.ingestion_ledger"))
    if _columns(conn, "raw", "quarantine"):
        statements.append(("quarantine_summary", QUARANTINE_SUMMARY_SQL))
    return statements


def _write_parquet(conn: duckdb.DuckDBPyConnection, tables: list[str], target: Path) -> None:
    target.mkdir(parents=True)
    for qualified in tables:
        schema, table = qualified.split(".", 1)
        out = target / schema / f"{table}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        conn.execute(
            f"copy dst.{_quote(schema)}.{_quote(table)} to '{out.as_posix()}' (format parquet, compression zstd)"
        )


def swap_directory(new_dir: Path, final_dir: Path) -> None:
    """Replace `final_dir` by `new_dir` with two renames; a reader sees either tree whole."""
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final_dir, old)
        os.replace(new_dir, final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new_dir, final_dir)


def publish_marts(
    settings: Settings,
    *,
    parquet: bool = True,
    before_swap: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> PublishResult:
    """Copy marts, signals, reference and ingestion-quality tables into the published file.

    `before_swap` runs against the new file (attached as `dst`) before the swap:
    the pipeline uses it for last checks; a raising hook aborts the publish.
    """
    started = time.monotonic()
    source = settings.warehouse_path
    if not source.exists():
        raise PublishError(f"working warehouse {source} does not exist; run the pipeline before publishing")
    final = settings.published_warehouse_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    parquet_final = settings.published_dir / "parquet"
    parquet_tmp = settings.published_dir / f".parquet.{uuid.uuid4().hex[:8]}.tmp"

    tables: dict[str, int] = {}
    conn = duckdb.connect()
    try:
        try:
            conn.execute(f"attach '{source.as_posix()}' as src (read_only)")
        except duckdb.IOException as exc:
            raise PublishError(f"cannot open {source} read-only (is a writer holding it?): {exc}") from exc
        conn.execute(f"attach '{tmp.as_posix()}' as dst (storage_version '{STORAGE_VERSION}')")
        source_tables = _source_tables(conn)
        if not any(schema == "marts" for schema, _ in source_tables):
            raise PublishError(f"{source} has no tables in schema marts; run dbt before publishing")
        present = {schema for schema, _ in source_tables}
        skipped = tuple(s for s in PUBLISHED_SCHEMAS if s not in present)

        conn.execute("begin transaction")
        for schema in sorted(present):
            conn.execute(f"create schema dst.{_quote(schema)}")
        for schema, table in source_tables:
            target = f"dst.{_quote(schema)}.{_quote(table)}"
            try:
                conn.execute(f"create table {target} as select * from src.{_quote(schema)}.{_quote(table)}")
            except duckdb.Error as exc:
                raise PublishError(f"copying {schema}.{table} from {source} failed: {exc}") from exc
        quality = _quality_statements(conn)
        if quality:
            conn.execute(f"create schema dst.{QUALITY_SCHEMA}")
        for table, select in quality:
            try:
                conn.execute(f"create table dst.{QUALITY_SCHEMA}.{_quote(table)} as {select}")
            except duckdb.Error as exc:
                raise PublishError(f"building {QUALITY_SCHEMA}.{table} from {source} failed: {exc}") from exc
        conn.execute("commit")

        for schema, table in [*source_tables, *[(QUALITY_SCHEMA, t) for t, _ in quality]]:
            (count,) = conn.execute(f"select count(*) from dst.{_quote(schema)}.{_quote(table)}").fetchone()
            tables[f"{schema}.{table}"] = int(count)
        if before_swap is not None:
            before_swap(conn)
        if parquet:
            _write_parquet(conn, list(tables), parquet_tmp)
        conn.execute("checkpoint dst")
        conn.execute("detach dst")
        conn.execute("detach src")
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        shutil.rmtree(parquet_tmp, ignore_errors=True)
        raise
    conn.close()

    os.replace(tmp, final)
    if parquet:
        swap_directory(parquet_tmp, parquet_final)
    return PublishResult(
        path=final,
        tables=tables,
        parquet_dir=parquet_final if parquet else None,
        duration_s=time.monotonic() - started,
        skipped_schemas=skipped,
    )


def main() -> int:
    """`python -m orchestration.publish.publish`: publish the current working warehouse."""
    from orchestration.settings import load_settings

    result = publish_marts(load_settings())
    print(
        f"Published {len(result.tables)} tables, {result.total_rows:,} rows -> {result.path} ({result.duration_s:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
