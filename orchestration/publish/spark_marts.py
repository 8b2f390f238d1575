"""Bring the marts Spark built into the working DuckDB file, so everything after dbt is the same on both engines.

With AGENTLEDGER_ENGINE=spark, dbt writes its tables as Parquet in Spark's
Hive warehouse (`<spark dir>/warehouse/<schema>.db/<table>/`, day-partitioned
tables in `call_date=YYYY-MM-DD/` folders). The signals, the published file,
the exports and the report site read the working DuckDB file; this step
copies the schemas they read (marts, reference) into it, through the Parquet
files, in one transaction. The call-level fact comes too: the signals read
it (the span of days, budget scopes) and the recommendations' evidence
queries run on it in the published file. Views (fct_llm_calls_attributed)
stay in Spark.

Types come back as DuckDB's own dbt build writes them: Spark's timestamps
(stored as instants in UTC) become plain UTC timestamps, and the columns keep
the order dbt declares (a partitioned Spark table stores its day column last).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.settings import Settings

MIRRORED_SCHEMAS = ("marts", "reference")
# Tables left in Spark (none by default; see the module docstring).
KEPT_IN_SPARK: frozenset[str] = frozenset()


class SparkMirrorError(RuntimeError):
    """A Spark table could not be read back; the working file is left as it was."""


@dataclass(frozen=True)
class MirrorResult:
    tables: dict[str, int]
    seconds: float


def spark_warehouse_dir(settings: Settings) -> Path:
    return settings.spark_lake_dir / "warehouse"


def _declared_columns(manifest_path: Path | None) -> dict[str, dict[str, str]]:
    """`schema.table` -> {column: declared type} in the order the YAML declares them.

    The type is the contract's data_type, or a seed's column_types entry, else varchar.
    """
    if manifest_path is None or not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    columns: dict[str, dict[str, str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in {"model", "seed"}:
            continue
        seed_types = node.get("config", {}).get("column_types") or {}
        declared = {
            name: (column.get("data_type") or seed_types.get(name) or "varchar")
            for name, column in (node.get("columns") or {}).items()
        }
        if declared:
            columns[f"{node['schema']}.{node.get('alias') or node['name']}"] = declared
    return columns


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def spark_tables(settings: Settings) -> list[tuple[str, str, Path]]:
    """(schema, table, folder) of every table of the mirrored schemas in Spark's warehouse."""
    found = []
    for schema in MIRRORED_SCHEMAS:
        root = spark_warehouse_dir(settings) / f"{schema}.db"
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and not folder.name.startswith((".", "_")):
                found.append((schema, folder.name, folder))
    return found


def mirror_spark_marts(
    settings: Settings, manifest_path: Path | None = None, *, kept_in_spark: frozenset[str] = KEPT_IN_SPARK
) -> MirrorResult:
    """Replace the marts and reference tables of the working DuckDB file by Spark's (all but `kept_in_spark`)."""
    started = time.monotonic()
    declared = _declared_columns(manifest_path)
    tables = [t for t in spark_tables(settings) if f"{t[0]}.{t[1]}" not in kept_in_spark]
    if not any(schema == "marts" for schema, _, _ in tables):
        raise SparkMirrorError(
            f"no marts tables under {spark_warehouse_dir(settings)}; run dbt on the spark target before mirroring"
        )
    counts: dict[str, int] = {}
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("begin transaction")
        for schema in MIRRORED_SCHEMAS:
            con.execute(f"create schema if not exists {_quote(schema)}")
        for schema, table, folder in tables:
            name = f"{schema}.{table}"
            files = sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
            if not files:
                # Spark writes no file for an empty table: its columns come from the YAML
                if name not in declared:
                    raise SparkMirrorError(f"{name}: no Parquet files in {folder} and no declared columns")
                columns = ", ".join(f"{_quote(c)} {t}" for c, t in declared[name].items())
                con.execute(f"create or replace table {_quote(schema)}.{_quote(table)} ({columns})")
                counts[name] = 0
                continue
            scan = f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
            described = con.execute(f"describe select * from {scan}").fetchall()
            types = {row[0]: row[1] for row in described}
            order = [c for c in declared.get(name, {}) if c in types]
            order += [c for c in types if c not in order]
            select = ", ".join(
                f"cast({_quote(c)} as timestamp) as {_quote(c)}"
                if types[c] == "TIMESTAMP WITH TIME ZONE"
                else _quote(c)
                for c in order
            )
            try:
                con.execute(f"create or replace table {_quote(schema)}.{_quote(table)} as select {select} from {scan}")
            except duckdb.Error as exc:
                raise SparkMirrorError(f"copying {name} from {folder} failed: {exc}") from exc
            counts[name] = con.execute(f"select count(*) from {_quote(schema)}.{_quote(table)}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.close()
        raise
    con.close()
    return MirrorResult(tables=counts, seconds=time.monotonic() - started)
