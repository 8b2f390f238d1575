"""Typing, normalisation and rule evaluation of one file's rows, in one SELECT.

Input: a reader's SourceQuery. Output columns (the `batch` table's layout):
lineage keys, the contract columns in contract types (user_id hashed, tags
without content, usage normalised to the OpenTelemetry meaning), cast
failures, the row's partition day and `_ok` (passes every rule).
"""

from __future__ import annotations

from orchestration.contract import TRACE_FIELDS
from orchestration.ingest.privacy import hash_user_id_sql, strip_content_from_tags_sql
from orchestration.ingest.readers import SourceQuery
from orchestration.ingest.rules import FAILURE_STRUCT, Rule, all_pass_sql, started_at_range
from orchestration.ingest.sql_text import lit

BATCH_META_COLUMNS = {
    "_file_id": "INTEGER",
    "_source_row": "BIGINT",
    "_source_line": "BIGINT",
    "_malformed": "VARCHAR",
}
BATCH_TAIL_COLUMNS = {
    "_cast_failures": f"{FAILURE_STRUCT}[]",
    "_partition_day": "DATE",
    "_ok": "BOOLEAN",
}


# Staged text-file rows live in an attached in-memory database rather than
# in a temp table: temp tables belong to one connection, and text files are
# staged by several cursors at once (see loader._stage_text_files).
STAGE_DATABASE = "_stage"
BATCH_TABLE = f"{STAGE_DATABASE}.batch"


def batch_ddl(table: str = BATCH_TABLE) -> str:
    cols = list(BATCH_META_COLUMNS.items()) + [(f.name, f.duckdb_type) for f in TRACE_FIELDS] + list(BATCH_TAIL_COLUMNS.items())
    return f"create table {table} (" + ", ".join(f"{n} {t}" for n, t in cols) + ")"


# One narrow row per staged row: what the loader must know before it writes
# (partition days, unreadable lines, span_id collisions), without keeping
# the rows themselves.
KEYS_TABLE = "batch_keys"


def keys_ddl() -> str:
    return (
        f"create temp table {KEYS_TABLE} (_file_id INTEGER, _partition_day DATE, _malformed VARCHAR, _ok BOOLEAN, "
        "_span_hash UBIGINT, _row_hash UBIGINT)"
    )


def keys_insert_sql(rows_sql: str) -> str:
    """Append the keys of the rows `rows_sql` yields (the `batch` layout) to the keys table.

    `_ok` says up front which files have failing rows: the final insert
    reads the other sources without a `where _ok` filter, which measured
    about 6 CPU-s of the 10M-call load, more than evaluating the rules here.
    `_span_hash` finds span_id collisions with an integer hash aggregate
    (exact span_ids are compared afterwards, for the few candidates only).
    `_row_hash` hashes every contract column so that this statement decodes
    every column of a Parquet file: a file that cannot be read fails here,
    where it is retried alone and quarantined, not in the final insert.
    """
    contract = ", ".join(f.name for f in TRACE_FIELDS)
    return (
        f"insert into {KEYS_TABLE} select _file_id, _partition_day, _malformed, _ok, "
        f"case when span_id is not null then hash(span_id) end, hash({contract}) from ({rows_sql})"
    )


def _typed(name: str, target: str, source: str) -> tuple[str, str | None]:
    """(typed expression, failure condition or None) for one column read as `source` type."""
    col = name
    if source == target:
        return (f"nullif({col}, '')" if target == "VARCHAR" else col), None
    if target == "VARCHAR":
        return f"nullif({col}::VARCHAR, '')", None
    if source != "VARCHAR":
        # Typed by the file (e.g. INTEGER tokens, TIMESTAMP WITH TIME ZONE): DuckDB casts.
        if target == "TIMESTAMP":
            expr = f"try_cast(try_cast({col} as TIMESTAMPTZ) as TIMESTAMP)"
        else:
            expr = f"try_cast({col} as {target})"
        if target == "BIGINT" and (source in ("DOUBLE", "FLOAT") or source.startswith("DECIMAL")):
            return expr, f"({col} is not null and ({expr} is null or {col} <> {expr}))"
        return expr, f"({col} is not null and {expr} is null)"
    text = f"nullif(trim({col}), '')"
    if target == "TIMESTAMP":
        # Text with an offset (Z, +02:00) is converted to UTC; without one it is taken as UTC.
        expr = f"try_cast(try_cast({text} as TIMESTAMPTZ) as TIMESTAMP)"
        return expr, f"({text} is not null and {expr} is null)"
    if target == "BIGINT":
        # try_cast('1.5' as BIGINT) rounds; a count must be a whole number.
        expr = f"try_cast({text} as BIGINT)"
        return expr, f"({text} is not null and ({expr} is null or try_cast({text} as DOUBLE) <> {expr}))"
    expr = f"try_cast({text} as {target})"
    return expr, f"({text} is not null and {expr} is null)"


def stage_sql(
    source: SourceQuery,
    *,
    salt: str,
    rules: list[Rule],
    file_id_sql: str = "_file_id",
    day_hint_sql: str = "_day_hint",
) -> str:
    """The batch rows of one or several files read by `source`.

    `file_id_sql` and `day_hint_sql` are evaluated on the source rows: a
    multi-file source yields `_file_id` and `_day_hint` columns itself, a
    single-file one passes literals. `_partition_day` is the valid start day,
    else the day hint, else null: the loader fills those from the file's
    earliest valid day (or its modification day) in one UPDATE after staging,
    instead of a window over every staged row.
    """
    typed_cols = []
    failures = []
    for f in TRACE_FIELDS:
        expr, fail = _typed(f.name, f.duckdb_type, source.types[f.name])
        if f.name == "user_id":
            expr = f"case when {expr} is not null then {hash_user_id_sql(expr, salt)} end"
        if f.name == "tags":
            # Checked here, not echoed: a malformed tags value may carry content.
            text = f"nullif(trim({f.name}::VARCHAR), '')"
            fail = f"({text} is not null and not (json_valid({text}) and ltrim({text}) like '{{%'))"
            expr = strip_content_from_tags_sql(text)
            got = "'(not shown)'"
            expected = "a JSON object of strings"
        else:
            got = f"{f.name}::VARCHAR"
            expected = f"a value castable to {f.duckdb_type}"
        typed_cols.append(f"{expr} as {f.name}")
        if fail is not None:
            failures.append(
                f"case when {fail} then {{'rule': 'castable_{f.name}', 'field': {lit(f.name)}, "
                f"'expected': {lit(expected)}, 'got': {got}}}::{FAILURE_STRUCT} end"
            )
    cast_failures = (
        f"list_filter([{', '.join(failures)}], lambda x: x is not null)" if failures else f"[]::{FAILURE_STRUCT}[]"
    )
    earliest, latest = started_at_range(rules)
    valid_day = (
        f"case when started_at >= TIMESTAMP '{earliest.isoformat(sep=' ')}' "
        f"and started_at <= TIMESTAMP '{latest.isoformat(sep=' ')}' then started_at::DATE end"
    )
    contract = ", ".join(f.name for f in TRACE_FIELDS)
    return f"""
with src as ({source.sql}),
typed as (
    select {file_id_sql} as _file_id, {day_hint_sql} as _day_hint, _source_row, _source_line, _malformed,
        {', '.join(typed_cols)},
        {cast_failures} as _cast_failures,
        _input_excludes_cache, _output_excludes_reasoning
    from src
),
normalised as (
    select * replace (
        case when _input_excludes_cache
             then input_tokens + coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)
             else input_tokens end as input_tokens,
        -- An embeddings call has input tokens only: a missing output count
        -- of a call that reported usage is 0 (contract.GENERATING_OPERATIONS).
        case when _output_excludes_reasoning
             then output_tokens + coalesce(reasoning_tokens, 0)
             when output_tokens is null and operation = 'embeddings' and input_tokens is not null then 0
             else output_tokens end as output_tokens
    )
    from typed
)
select _file_id, _source_row, _source_line, _malformed, {contract},
    _cast_failures,
    coalesce({valid_day}, _day_hint) as _partition_day,
    (_malformed is null and len(_cast_failures) = 0 and {all_pass_sql(rules)}) as _ok
from normalised"""
