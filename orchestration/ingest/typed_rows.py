"""Typing, normalisation and rule evaluation of one file's rows, in one SELECT.

Input: a reader's SourceQuery. Output columns (the `batch` table's layout):
lineage keys, the contract columns in contract types (user_id hashed, tags
without content, usage normalised to the OpenTelemetry meaning), cast
failures, the row's partition day and `_ok` (passes every rule).
"""

from __future__ import annotations

from orchestration.contract import TRACE_FIELDS
from orchestration.ingest.options import InputLimits
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
# staged by several cursors at once (see batch._stage_text_files).
STAGE_DATABASE = "_stage"
BATCH_TABLE = f"{STAGE_DATABASE}.batch"


def batch_ddl(table: str = BATCH_TABLE) -> str:
    cols = (
        list(BATCH_META_COLUMNS.items())
        + [(f.name, f.duckdb_type) for f in TRACE_FIELDS]
        + list(BATCH_TAIL_COLUMNS.items())
    )
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


# Ids and required text are trimmed (ASCII whitespace and no-break space);
# empty after trimming means missing. Other text is kept as written.
TRIMMED_COLUMNS = ("span_id", "trace_id", "parent_span_id", "workspace_id", "operation", "status")
_WHITESPACE = " \t\n\r\x0b\x0c\u00a0"
# A count written as text: decimal digits with an optional sign, optionally
# followed by `.0` (JSON writers print whole floats so); never hex, binary,
# exponents or digit separators, which DuckDB's cast would accept.
_COUNT_TEXT = r"[+-]?[0-9]+(\.0*)?"
# A text timestamp whose UTC offset lies beyond +-14:00 (DuckDB accepts +99:00).
_OFFSET_OUT_OF_RANGE = (
    r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]*)?)?\s*[+-](1[5-9]|[2-9][0-9]|14:?(0[1-9]|[1-5][0-9]))(:?[0-9]{2})?$"
)


def _trim_sql(col: str) -> str:
    """`col` without surrounding whitespace. trim() with a character set is
    costly (about 8x a string search), so values are only trimmed when they
    hold a whitespace character at all, which ids almost never do."""
    screen = " or ".join(f"contains({col}, {lit(ch)})" for ch in _WHITESPACE)
    return f"case when {screen} then trim({col}, {lit(_WHITESPACE)}) else {col} end"


def _typed(name: str, target: str, source: str) -> tuple[str, str | None]:
    """(typed expression, failure condition or None) for one column read as `source` type."""
    col = name
    if target == "VARCHAR" and name in TRIMMED_COLUMNS:
        text = col if source == "VARCHAR" else f"{col}::VARCHAR"
        return f"nullif({_trim_sql(text)}, '')", None
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
        # try_cast('1.5' as BIGINT) rounds, and '0x10' is 16 to DuckDB: a count is decimal digits.
        expr = f"try_cast({text} as BIGINT)"
        return expr, (
            # The common case (plain digits) is settled by the round trip, without the regex.
            f"({text} is not null and ({expr} is null or ({expr}::VARCHAR <> {text} and "
            f"(not regexp_full_match({text}, {lit(_COUNT_TEXT)}) or try_cast({text} as DOUBLE) <> {expr}))))"
        )
    expr = f"try_cast({text} as {target})"
    return expr, f"({text} is not null and {expr} is null)"


def typed_rows_sql(
    source: SourceQuery,
    *,
    salt: str,
    rules: list[Rule],
    file_id_sql: str = "_file_id",
    day_hint_sql: str = "_day_hint",
    limits: InputLimits | None = None,
) -> str:
    """The batch rows of one or several files read by `source`.

    `file_id_sql` and `day_hint_sql` are evaluated on the source rows: a
    multi-file source yields `_file_id` and `_day_hint` columns itself, a
    single-file one passes literals. `_partition_day` is the valid start day,
    else the day hint, else null: the loader fills those from the file's
    earliest valid day (or its modification day) in one UPDATE after staging,
    instead of a window over every staged row.
    """
    limits = limits or InputLimits()
    typed_cols = []
    failures = []

    def failure(condition: str, rule: str, field: str, expected: str, got: str) -> None:
        failures.append(
            f"case when {condition} then {{'rule': {lit(rule)}, 'field': {lit(field)}, "
            f"'expected': {lit(expected)}, 'got': {got}}}::{FAILURE_STRUCT} end"
        )

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
            # Nesting needs two characters a level, so only long values are counted:
            # more opening brackets than the depth limit is too deep.
            depth = limits.max_json_depth
            too_deep = (
                f"({text} is not null and strlen({text}) > {2 * depth} and "
                f"strlen({text}) - strlen(replace(replace({text}, '{{', ''), '[', '')) > {depth})"
            )
            failure(
                too_deep,
                "json_too_deep",
                "tags",
                f"at most {depth} nested levels (AGENTLEDGER_INGEST_MAX_JSON_DEPTH)",
                got,
            )
            expr = f"case when not {too_deep} then {expr} end"
        else:
            got = f"{f.name}::VARCHAR"
            expected = f"a value castable to {f.duckdb_type}"
            if f.duckdb_type == "BIGINT":
                expected = "a whole number written in decimal digits"
        typed_cols.append(f"{expr} as {f.name}")
        if fail is not None:
            failure(fail, f"castable_{f.name}", f.name, expected, got)
        if f.duckdb_type == "TIMESTAMP" and source.types[f.name] == "VARCHAR":
            # Out of range, the offset would shift the day: the start counts as missing.
            # Only a text ending in a digit can end in an offset (`Z` and naive times skip the regex).
            bad_offset = (
                f"coalesce(not ends_with({f.name}, 'Z') and (contains({f.name}, '+') or strlen({f.name}) > 19) "
                f"and regexp_matches({f.name}, {lit(_OFFSET_OUT_OF_RANGE)}), false)"
            )
            typed_cols[-1] = f"case when not {bad_offset} then {expr} end as {f.name}"
            failure(
                bad_offset,
                "utc_offset_in_range",
                f.name,
                "a UTC offset within -14:00 .. +14:00",
                f"{f.name}::VARCHAR",
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
        {", ".join(typed_cols)},
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
