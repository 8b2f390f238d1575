"""The Spark engine's raw layer: validated spans as day-partitioned Parquet.

Ingestion validates, quarantines, deduplicates and keeps its ledger in the
working DuckDB file on both engines (loader.py). With AGENTLEDGER_ENGINE=spark
the days a load touched are then written out as a data lake lays them out,

    <spark dir>/raw/trace_spans/date=YYYY-MM-DD/part-00000.parquet
    <spark dir>/reference_input/org_mapping/part-00000.parquet
    <spark dir>/reference_input/model_catalog_matches/part-00000.parquet

and Spark reads them as external tables (the dbt sources raw.trace_spans,
reference_input.org_mapping and reference_input.model_catalog_matches,
registered by the macro register_lake_sources() at the start of every dbt
invocation on Spark).

model_catalog_matches is the one model the Spark engine cannot compute in
dbt: on DuckDB, int_model_catalog_matches is a dbt Python model that resolves
model names with genai-prices' own matcher, and dbt's Spark adapter runs
Python models only on Databricks clusters. The same functions of that file
run here, over the same distinct (provider, request_model, response_model)
of the LLM-call spans, against the same seeds; on Spark the model is a SQL
model reading the result (models/intermediate/pricing/int_model_catalog_matches.sql).

A day is replaced whole: its rows are written to a hidden folder beside the
partition, then the old folder is renamed away and the new one renamed in
(two renames on one file system, no copy), so a reader sees the old day or
the new one, and re-loading a day never leaves it half written. A day whose
rows are all gone (a file removed and the day forced) loses its folder. The
same (day, content) written twice gives the same files: the export is
idempotent, as the load is.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import duckdb

from orchestration.ingest.tables import raw_table_ddl
from orchestration.settings import DBT_PROJECT_DIR, SEEDS_DIR, Settings

RAW_TABLE = "raw.trace_spans"
ORG_MAPPING_TABLE = "reference_input.org_mapping"
PARTITION_COLUMN = "date"
PART_FILE = "part-00000.parquet"
EMPTY_DAY = date(1970, 1, 1)
MATCHER_PATH = DBT_PROJECT_DIR / "models" / "intermediate" / "pricing" / "int_model_catalog_matches.py"
# macros/llm_call_operations.sql: the operations that are LLM calls
LLM_CALL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")


def raw_spans_dir(settings: Settings) -> Path:
    return settings.spark_lake_dir / "raw" / "trace_spans"


def org_mapping_dir(settings: Settings) -> Path:
    return settings.spark_lake_dir / "reference_input" / "org_mapping"


def catalog_matches_dir(settings: Settings) -> Path:
    return settings.spark_lake_dir / "reference_input" / "model_catalog_matches"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _swap_in(staged: Path, final: Path) -> None:
    """Replace `final` by `staged` (a folder beside it) with renames only."""
    retired = final.with_name(f".retired-{final.name}-{uuid.uuid4().hex}")
    if final.exists():
        final.rename(retired)
    staged.rename(final)
    shutil.rmtree(retired, ignore_errors=True)


def _write_folder(con: duckdb.DuckDBPyConnection, query: str, params: list, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = final.with_name(f".staging-{final.name}-{uuid.uuid4().hex}")
    staged.mkdir()
    try:
        con.execute(
            f"copy ({query}) to '{_sql_path(staged / PART_FILE)}' (format parquet, compression zstd)",
            params,
        )
        _swap_in(staged, final)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def lake_days(settings: Settings) -> list[date]:
    """Days with a partition folder in the lake."""
    root = raw_spans_dir(settings)
    if not root.is_dir():
        return []
    prefix = f"{PARTITION_COLUMN}="
    return sorted(
        date.fromisoformat(p.name[len(prefix) :]) for p in root.iterdir() if p.is_dir() and p.name.startswith(prefix)
    )


def export_raw_days(
    settings: Settings, first: date | None, last: date | None, seeds_dir: Path = SEEDS_DIR
) -> dict[date, int]:
    """Write the raw spans of every day in [first, last] (None: unbounded) to the lake.

    Days in the window that have rows are (re)written; days in the window that
    have a folder but no rows any more lose it. Returns rows written per day.
    """
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        bounds, params = [], []
        if first:
            bounds.append("started_at >= cast(? as timestamp)")
            params.append(first.isoformat())
        if last:
            bounds.append("started_at < cast(? as timestamp)")
            params.append((last + timedelta(days=1)).isoformat())
        where = " and ".join(bounds) or "true"
        counts = dict(
            con.execute(
                f"select cast(started_at as date), count(*) from {RAW_TABLE} where {where} group by all",
                params,
            ).fetchall()
        )
        root = raw_spans_dir(settings)
        for day in sorted(counts):
            _write_folder(
                con,
                f"select * from {RAW_TABLE} where started_at >= cast(? as timestamp) "
                "and started_at < cast(? as timestamp) order by started_at, span_id",
                [day.isoformat(), (day + timedelta(days=1)).isoformat()],
                root / f"{PARTITION_COLUMN}={day.isoformat()}",
            )
        placeholder = [EMPTY_DAY] if counts and EMPTY_DAY in lake_days(settings) else []
        for day in sorted(set(_in_window(lake_days(settings), first, last)) | set(placeholder)):
            if day not in counts:
                shutil.rmtree(root / f"{PARTITION_COLUMN}={day.isoformat()}")
        export_org_mapping(settings, con)
        export_catalog_matches(settings, con, seeds_dir)
    finally:
        con.close()
    ensure_raw_schema(settings)
    return counts


def export_reference_tables(settings: Settings) -> None:
    """The org mapping and the model-name matches alone (after the org mapping asset loads its file)."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        export_org_mapping(settings, con)
        export_catalog_matches(settings, con)
    finally:
        con.close()
    ensure_raw_schema(settings)


def ensure_raw_schema(settings: Settings) -> None:
    """Give Spark the raw table's columns before any span is loaded.

    Spark learns an external table's columns from its files, and the reference
    models may build before the first load. With no day in the lake yet, an
    empty file with the contract's columns goes into a placeholder day
    (EMPTY_DAY, zero rows), removed by the first export that writes a day.
    """
    if lake_days(settings):
        return
    con = duckdb.connect()
    try:
        con.execute("create schema raw")
        con.execute(raw_table_ddl())
        _write_folder(
            con,
            f"select * from {RAW_TABLE} where false",
            [],
            raw_spans_dir(settings) / f"{PARTITION_COLUMN}={EMPTY_DAY}",
        )
    finally:
        con.close()


def export_org_mapping(settings: Settings, con: duckdb.DuckDBPyConnection) -> None:
    """The user's org mapping as loaded into the warehouse (empty when there is none)."""
    has_table = _has_table(con, "reference_input", "org_mapping")
    query = (
        f"select * from {ORG_MAPPING_TABLE} order by all"
        if has_table
        else "select cast(null as varchar) as agent_id, cast(null as varchar) as department, "
        "cast(null as varchar) as team, cast(null as varchar) as cost_centre where false"
    )
    _write_folder(con, query, [], org_mapping_dir(settings))


def _matcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("int_model_catalog_matches", MATCHER_PATH)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"the model matcher {MATCHER_PATH} is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_catalog_matches(settings: Settings, con: duckdb.DuckDBPyConnection, seeds_dir: Path = SEEDS_DIR) -> int:
    """Resolve every model-name combination of the loaded LLM calls, as int_model_catalog_matches.py does."""
    matcher = _matcher()
    operations = ", ".join(f"'{op}'" for op in LLM_CALL_OPERATIONS)
    combinations = (
        con.execute(
            f"select distinct provider, request_model, response_model from {RAW_TABLE} where operation in ({operations})"
        ).fetchall()
        if _has_table(con, "raw", "trace_spans")
        else []
    )
    with (seeds_dir / "catalog_provider_map.csv").open(newline="") as f:
        provider_map = {row["otel_provider"]: row["catalog_provider_id"] for row in csv.DictReader(f)}
    with (seeds_dir / "custom_model_prices.csv").open(newline="") as f:
        custom_names = {
            (str(row["provider_id"]).strip().lower(), str(row["model_id"]).strip().lower()) for row in csv.DictReader(f)
        }
    matches = matcher.resolve_all(combinations, provider_map, custom_names)
    typed = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in matcher.RESULT_COLUMNS.items())
    local = duckdb.connect()
    try:
        local.register("matches", matches)
        _write_folder(local, f"select {typed} from matches order by all", [], catalog_matches_dir(settings))
    finally:
        local.close()
    return len(matches)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def _in_window(days: Iterable[date], first: date | None, last: date | None) -> list[date]:
    return [d for d in days if (first is None or d >= first) and (last is None or d <= last)]
