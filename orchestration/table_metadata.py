"""Row counts and first-rows previews for the Dagster UI, read from the working DuckDB file.

Every table-producing asset reports `dagster/row_count` (the rows in its table
after the run); report tables (`rpt_*`, the tables report pages read) also
carry their first rows as a markdown table.

dbt assets get theirs after `dbt build` has exited: dagster-dbt's own
`fetch_row_counts()` also waits for the dbt process on DuckDB, but it counts
each model through a dbt adapter opened inside the Dagster process, one
connection per model, and that adapter keeps its DuckDB handle open after the
step, in the same process where the next step's `dbt build` needs the file's
single write lock. Here one read-only connection counts every model the build
wrote in one query, reads the previews and closes before the events are
reported.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

ROW_COUNT_KEY = "dagster/row_count"
PREVIEW_KEY = "preview"
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8
REPORT_TABLE_PREFIX = "rpt_"
# dbt materialisations with no table to count: a view would run its whole query.
UNCOUNTED_MATERIALIZATIONS = {"view", "ephemeral"}


def quoted(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def row_counts(conn: duckdb.DuckDBPyConnection, relations: Mapping[str, str]) -> dict[str, int]:
    """Rows of each relation ({name: quoted relation}), in one query."""
    if not relations:
        return {}
    names = list(relations)
    query = " union all ".join(f"select {i} as i, count(*) as n from {rel}" for i, rel in enumerate(relations.values()))
    return {names[i]: int(n) for i, n in conn.execute(query).fetchall()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | Decimal):
        value = float(value)
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


def markdown_preview(conn: duckdb.DuckDBPyConnection, relation: str, rows: int = PREVIEW_ROWS) -> str:
    """The first rows of a table as a markdown table (its first PREVIEW_COLUMNS columns)."""
    cursor = conn.execute(f"select * from {relation} limit {int(rows)}")
    columns = [d[0] for d in cursor.description]
    shown = columns[:PREVIEW_COLUMNS]
    lines = [
        "| " + " | ".join(shown) + " |",
        "| " + " | ".join("---" for _ in shown) + " |",
        *("| " + " | ".join(_cell(v) for v in row[: len(shown)]) + " |" for row in cursor.fetchall()),
    ]
    if len(columns) > len(shown):
        lines.append(f"\n{len(columns) - len(shown)} more columns: {', '.join(columns[len(shown) :])}")
    return "\n".join(lines)


def table_metadata(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Row count, and for a report table its preview, for one table (Python assets); {} when it does not exist."""
    relation = quoted(schema, table)
    try:
        count = row_counts(conn, {table: relation})[table]
    except duckdb.CatalogException:
        dg.get_dagster_logger().warning(f"{schema}.{table} does not exist: no row count")
        return {}
    metadata: dict[str, Any] = {ROW_COUNT_KEY: count}
    if table.startswith(REPORT_TABLE_PREFIX):
        metadata[PREVIEW_KEY] = dg.MetadataValue.md(markdown_preview(conn, relation))
    return metadata


def asset_table_metadata(conn: duckdb.DuckDBPyConnection, key: dg.AssetKey) -> dict[str, Any]:
    """table_metadata for an asset keyed [schema, table]."""
    schema, table = key.path[-2], key.path[-1]
    return table_metadata(conn, schema, table)


def _counted_nodes(events: Iterable[Any], manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = {}
    for event in events:
        if not isinstance(event, dg.Output | dg.AssetMaterialization):
            continue
        unique_id = event.metadata.get("unique_id")
        node = manifest["nodes"].get(getattr(unique_id, "value", unique_id))
        if node and node["config"].get("materialized") not in UNCOUNTED_MATERIALIZATIONS:
            nodes[node["unique_id"]] = node
    return nodes


def dbt_table_metadata(
    events: list[Any], manifest: Mapping[str, Any], warehouse_path: Path
) -> dict[str, dict[str, Any]]:
    """{dbt unique id: metadata} for the tables and seeds among a finished build's events."""
    nodes = _counted_nodes(events, manifest)
    if not nodes or not warehouse_path.exists():
        return {}
    relations = {uid: quoted(n["schema"], n.get("alias") or n["name"]) for uid, n in nodes.items()}
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        counts = row_counts(conn, relations)
        metadata: dict[str, dict[str, Any]] = {uid: {ROW_COUNT_KEY: n} for uid, n in counts.items()}
        for uid, node in nodes.items():
            if node["resource_type"] == "model" and node["name"].startswith(REPORT_TABLE_PREFIX):
                metadata[uid][PREVIEW_KEY] = dg.MetadataValue.md(markdown_preview(conn, relations[uid]))
    finally:
        conn.close()
    return metadata


def with_dbt_table_metadata(events: Iterable[Any], manifest: Mapping[str, Any], warehouse_path: Path) -> Iterator[Any]:
    """A dbt build's events, held until dbt has exited, then reported with row counts and previews.

    A failed build still reports what it built before failing, then raises its error.
    Metadata that cannot be read (the file gone, a table dropped meanwhile)
    is logged and left out; it never fails the run.
    """
    buffered: list[Any] = []
    failure: BaseException | None = None
    try:
        buffered.extend(events)
    except Exception as exc:  # the build's own failure, raised again below
        failure = exc
    try:
        extra = dbt_table_metadata(buffered, manifest, warehouse_path)
    except duckdb.Error as exc:
        dg.get_dagster_logger().warning(f"row counts not read from {warehouse_path}: {exc}")
        extra = {}
    for event in buffered:
        unique_id = getattr(getattr(event, "metadata", {}).get("unique_id"), "value", None)
        if unique_id in extra and isinstance(event, dg.Output | dg.AssetMaterialization):
            event = event.with_metadata({**event.metadata, **extra[unique_id]})
        yield event
    if failure is not None:
        raise failure
