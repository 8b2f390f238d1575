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
from orchestration.ingest.landing import BOM, FileRejected, duckdb_path
from orchestration.ingest.options import AttributeMapping, InputLimits
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


# Columns the multi-file Parquet read adds; a file holding a column of one of
# these names is read alone (parquet_single_query), its column ignored.
PARQUET_VIRTUAL_COLUMNS = ("filename", "file_row_number")


def parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[tuple[str, str], ...]:
    """(column, type) pairs of a Parquet file, from its footer (the rows are not read)."""
    described = con.execute(
        f"describe select * from read_parquet({lit(duckdb_path(path))}, hive_partitioning=false)"
    ).fetchall()
    return tuple((name, typ) for name, typ, *_ in described)


def parquet_needs_single_read(schema: tuple[tuple[str, str], ...]) -> bool:
    return any(name.strip().lower() in PARQUET_VIRTUAL_COLUMNS for name, _ in schema)


def _present_in_schema(schema: tuple[tuple[str, str], ...], path: Path) -> dict[str, tuple[str, str]]:
    """Contract column -> the file's column: names match case-insensitively and
    after trimming; when several match, the first one in the file is read."""
    by_lower: dict[str, tuple[str, str]] = {}
    for name, typ in schema:
        by_lower.setdefault(name.strip().lower(), (name, typ))
    present = {c: by_lower[c] for c in TRACE_COLUMNS if c in by_lower}
    if "span_id" not in present:
        # The names found are not quoted: in a headerless CSV they are the first data row.
        raise FileRejected(
            "missing_span_id_column",
            f"no span_id column among its {len(schema)} columns; expected the contract columns "
            f"({', '.join(TRACE_COLUMNS[:6])}, ...)",
        )
    return present


def parquet_group_query(paths: list[Path], schema: tuple[tuple[str, str], ...]) -> SourceQuery:
    """One read of several Parquet files sharing `schema`, in a single scan.

    Rows carry `_file_id` and `_day_hint` from the `_stage_files` table
    (`_stage_path`, `_file_id`, `_day_hint`), which the caller fills first.
    """
    present = _present_in_schema(schema, paths[0])
    files = "[" + ", ".join(lit(duckdb_path(p)) for p in paths) + "]"
    reader = (
        f"read_parquet({files}, filename=true, {_PARQUET_OPTIONS}) _p "
        f"join {STAGE_FILES_TABLE} _f on _f._stage_path = _p.filename"
    )
    return _canonical_select(
        present, "file_row_number + 1", "null::BIGINT", reader, extra="_f._file_id, _f._day_hint, "
    )


def _csv_header(path: Path, limits: InputLimits) -> list[str]:
    """Column names from the header line. Read in Python (one line per file)
    because DuckDB's dialect sniffer gives up on short files with ragged rows,
    which are exactly the files whose bad lines must be quarantined.

    The header line is read up to the header limit (a longer one rejects the
    file: `header_too_long`); a UTF-8 BOM is dropped. Names are made unique
    case-insensitively (DuckDB binds column names case-insensitively), so
    extra columns of any name never clash: the first column of a name keeps it.
    """
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        line = fh.readline(limits.max_header_bytes + 2)
    if len(line.rstrip(b"\r\n")) > limits.max_header_bytes:
        raise FileRejected(
            "header_too_long",
            f"the CSV header line is longer than {limits.max_header_bytes} bytes (AGENTLEDGER_INGEST_MAX_HEADER_BYTES)",
        )
    if line.startswith(BOM):
        line = line[len(BOM) :]
    text = line.decode("utf-8", errors="replace")
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, limits.max_header_bytes + 2))
    try:
        header = next(csv.reader([text]), None)
    finally:
        csv.field_size_limit(old_limit)
    if not header or not any(h.strip() for h in header):
        raise FileRejected("unparseable_file", "empty CSV file; expected a header line with the contract columns")
    names: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(header):
        name = name.strip() or f"column{i}"
        candidate, n = name, i
        while candidate.lower() in taken:
            candidate = f"{name}_{n}"
            n += 1
        taken.add(candidate.lower())
        names.append(candidate)
    return names


def check_csv_header(path: Path, limits: InputLimits) -> None:
    """Raise FileRejected when the CSV's header line is over the header limit (or missing)."""
    _csv_header(path, limits)


def csv_query(con: duckdb.DuckDBPyConnection, path: Path, tag: str, limits: InputLimits) -> SourceQuery:
    header = _csv_header(path, limits)
    columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in header) + "}"
    options = f"header=true, auto_detect=false, delim=',', quote='\"', escape='\"', columns={columns}"
    present = _present_columns(con, f"select * from read_csv({lit(duckdb_path(path))}, {options})", path)
    rejects = f"csv_rejects_{tag}"
    reader = (
        f"read_csv({lit(duckdb_path(path))}, {options}, store_rejects=true, "
        f"rejects_table={lit(rejects)}, rejects_scan={lit(rejects + '_scan')})"
    )
    # Row numbers count the records DuckDB parsed, in file order (insertion
    # order is preserved); rejected lines are reported with their line number.
    q = _canonical_select(present, "row_number() over ()", "null::BIGINT", reader)
    return SourceQuery(q.sql, q.types, rejects_table=rejects)


def jsonl_query(path: Path) -> SourceQuery:
    from orchestration.ingest.otlp import lines_sql

    structure = json.dumps(dict.fromkeys(TRACE_COLUMNS, "VARCHAR"))
    cols = ", ".join(f"r.{c} as {c}" for c in TRACE_COLUMNS)
    sql = f"""
with lines as ({lines_sql(Path(duckdb_path(path)), whole_file=False)}),
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
    return SourceQuery(sql, dict.fromkeys(TRACE_COLUMNS, "VARCHAR"))


OTLP_TYPES = dict.fromkeys(TRACE_COLUMNS, "VARCHAR") | {
    "started_at": "TIMESTAMP",
    "duration_ms": "DOUBLE",
    "time_to_first_token_ms": "DOUBLE",
}


def parquet_single_query(con: duckdb.DuckDBPyConnection, path: Path) -> SourceQuery:
    """One Parquet file read alone, its rows numbered in scan order (the caller
    preserves insertion order): for files holding a column named like one the
    multi-file read adds (`filename`, `file_row_number`), which is ignored."""
    reader = f"read_parquet({lit(duckdb_path(path))}, hive_partitioning=false)"
    present = _present_in_schema(parquet_schema(con, path), path)
    return _canonical_select(present, "row_number() over ()", "null::BIGINT", reader)


def source_query(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    mapping: AttributeMapping,
    tag: str,
    limits: InputLimits | None = None,
) -> SourceQuery:
    """The reader for a text format, or for a Parquet file read alone (other
    Parquet files are read in groups, see parquet_group_query); raises
    FileRejected (or a DuckDB error) when the file cannot be opened. `path`
    is the file to read (a cleaned copy, when the loader made one); it is
    always read literally, never as a glob pattern."""
    limits = limits or InputLimits()
    if fmt == "csv":
        return csv_query(con, path, tag, limits)
    if fmt == "jsonl":
        return jsonl_query(path)
    if fmt == "parquet":
        return parquet_single_query(con, path)
    if fmt in ("otlp_jsonl", "otlp_json"):
        sql = otlp_source_sql(Path(duckdb_path(path)), whole_file=fmt == "otlp_json", mapping=mapping)
        return SourceQuery(sql, dict(OTLP_TYPES))
    raise UnparseableFile(f"unknown format {fmt!r}")
