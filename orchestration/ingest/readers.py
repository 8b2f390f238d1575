"""One SELECT per landing file format, yielding the contract columns as found.

Every reader returns the same shape: `_source_row`, `_source_line`,
`_malformed` (why a record could not be read, else null), the contract
columns in whatever type the file holds them (typed afterwards, in one place,
by `staging`), `_input_excludes_cache` and `_output_excludes_reasoning`.
Columns the contract does not know are never selected, so content carried in
extra columns never leaves the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract import TRACE_COLUMNS, TRACE_FIELDS
from orchestration.ingest.options import AttributeMapping
from orchestration.ingest.otlp import otlp_source_sql
from orchestration.ingest.sql_text import ident, lit


class UnparseableFile(ValueError):
    """The file cannot be read as the format it claims to be."""


@dataclass(frozen=True)
class SourceQuery:
    sql: str
    types: dict[str, str]  # contract column -> DuckDB type the reader yields
    rejects_table: str | None = None


def _present_columns(con: duckdb.DuckDBPyConnection, relation_sql: str, path: Path) -> dict[str, tuple[str, str]]:
    """Contract column -> (column name in the file, its type); matched case-insensitively."""
    described = con.execute(f"describe {relation_sql}").fetchall()
    return _present_in_schema(tuple((name, typ) for name, typ, *_ in described), path)


def _canonical_select(
    present: dict[str, tuple[str, str]], row_sql: str, line_sql: str, reader: str, extra: str = ""
) -> SourceQuery:
    cols = []
    types = {}
    for f in TRACE_FIELDS:
        if f.name in present:
            name, typ = present[f.name]
            cols.append(f"{ident(name)} as {f.name}")
            types[f.name] = typ
        else:
            cols.append(f"null::{f.duckdb_type} as {f.name}")
            types[f.name] = f.duckdb_type
    sql = (
        f"select {extra}{row_sql} as _source_row, {line_sql} as _source_line, null::VARCHAR as _malformed, "
        + ", ".join(cols)
        + ", false as _input_excludes_cache, false as _output_excludes_reasoning"
        + f" from {reader}"
    )
    return SourceQuery(sql, types)


# Directory names never fill columns (a `date=...` folder is a day hint, see
# landing.path_day_hint, not a column of the rows).
_PARQUET_OPTIONS = "file_row_number=true, hive_partitioning=false"
# Small table the multi-file Parquet read joins to learn each row's file id.
STAGE_FILES_TABLE = "_stage_files"


def parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[tuple[str, str], ...]:
    """(column, type) pairs of a Parquet file, from its footer (the rows are not read)."""
    described = con.execute(
        f"describe select * exclude (file_row_number) from read_parquet({lit(str(path))}, {_PARQUET_OPTIONS})"
    ).fetchall()
    return tuple((name, typ) for name, typ, *_ in described)


def _present_in_schema(schema: tuple[tuple[str, str], ...], path: Path) -> dict[str, tuple[str, str]]:
    by_lower = {name.strip().lower(): (name, typ) for name, typ in schema}
    present = {c: by_lower[c] for c in TRACE_COLUMNS if c in by_lower}
    if "span_id" not in present:
        found = ", ".join(name for name, _ in schema[:12])
        raise UnparseableFile(
            f"{path.name}: no span_id column; expected the contract columns ({', '.join(TRACE_COLUMNS[:6])}, ...), found: {found}"
        )
    return present


def parquet_group_query(paths: list[Path], schema: tuple[tuple[str, str], ...]) -> SourceQuery:
    """One read of several Parquet files sharing `schema`, in a single scan.

    Rows carry `_file_id` and `_day_hint` from the `_stage_files` table
    (`_stage_path`, `_file_id`, `_day_hint`), which the caller fills first.
    """
    present = _present_in_schema(schema, paths[0])
    files = "[" + ", ".join(lit(str(p)) for p in paths) + "]"
    reader = (
        f"read_parquet({files}, filename=true, {_PARQUET_OPTIONS}) _p "
        f"join {STAGE_FILES_TABLE} _f on _f._stage_path = _p.filename"
    )
    return _canonical_select(present, "file_row_number + 1", "null::BIGINT", reader, extra="_f._file_id, _f._day_hint, ")


def _csv_header(path: Path) -> list[str]:
    """Column names from the header line. Read in Python (one line per file)
    because DuckDB's dialect sniffer gives up on short files with ragged rows,
    which are exactly the files whose bad lines must be quarantined."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise UnparseableFile(f"{path.name}: empty CSV file; expected a header line with the contract columns")
    names: list[str] = []
    for i, name in enumerate(header):
        name = name.strip() or f"column{i}"
        names.append(name if name not in names else f"{name}_{i}")
    return names


def csv_query(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> SourceQuery:
    header = _csv_header(path)
    columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in header) + "}"
    options = (
        f"header=true, auto_detect=false, delim=',', quote='\"', escape='\"', columns={columns}"
    )
    present = _present_columns(con, f"select * from read_csv({lit(str(path))}, {options})", path)
    rejects = f"csv_rejects_{tag}"
    reader = (
        f"read_csv({lit(str(path))}, {options}, store_rejects=true, "
        f"rejects_table={lit(rejects)}, rejects_scan={lit(rejects + '_scan')})"
    )
    # Row numbers count the records DuckDB parsed, in file order (insertion
    # order is preserved); rejected lines are reported with their line number.
    q = _canonical_select(present, "row_number() over ()", "null::BIGINT", reader)
    return SourceQuery(q.sql, q.types, rejects_table=rejects)


def jsonl_query(path: Path) -> SourceQuery:
    from orchestration.ingest.otlp import lines_sql

    structure = json.dumps({c: "VARCHAR" for c in TRACE_COLUMNS})
    cols = ", ".join(f"r.{c} as {c}" for c in TRACE_COLUMNS)
    sql = f"""
with lines as ({lines_sql(path, whole_file=False)}),
parsed as (
    select _line,
        case when json_valid(line) and ltrim(line) like '{{%' then json_transform(line, {lit(structure)}) end as r,
        case when not json_valid(line) then 'line is not valid JSON'
             when not ltrim(line) like '{{%' then 'line is not a JSON object' end as _malformed
    from lines
)
select _line as _source_row, _line as _source_line, _malformed, {cols},
    false as _input_excludes_cache, false as _output_excludes_reasoning
from parsed"""
    return SourceQuery(sql, {c: "VARCHAR" for c in TRACE_COLUMNS})


OTLP_TYPES = {c: "VARCHAR" for c in TRACE_COLUMNS} | {
    "started_at": "TIMESTAMP",
    "duration_ms": "DOUBLE",
    "time_to_first_token_ms": "DOUBLE",
}


def source_query(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, mapping: AttributeMapping, tag: str) -> SourceQuery:
    """The reader for a text format (Parquet files are read in groups, see
    parquet_group_query); raises UnparseableFile (or a DuckDB error) when the
    file cannot be opened."""
    if fmt == "csv":
        return csv_query(con, path, tag)
    if fmt == "jsonl":
        return jsonl_query(path)
    if fmt in ("otlp_jsonl", "otlp_json"):
        return SourceQuery(otlp_source_sql(path, whole_file=fmt == "otlp_json", mapping=mapping), dict(OTLP_TYPES))
    raise UnparseableFile(f"{path.name}: unknown format {fmt!r}")
