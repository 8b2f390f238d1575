"""What the run quarantines, and why: failing rows of readable files, and whole files.

A staged row fails when it could not be read as a record (`_malformed`),
a value could not be cast, or it breaks a rule (rules.py); the rules were
evaluated while staging (typed_rows.py), and here the failing rows are read
again, only from the files that have some, to be written to raw.quarantine
with a message naming file, row or line, field and what was expected. A file
that could not be read at all is one row of its own. Quarantine reflects the
latest processing of each (file, day).
"""

from __future__ import annotations

from datetime import date, datetime

from orchestration.contract import OPERATIONS, SERVICE_TIERS, STATUSES, TRACE_COLUMNS
from orchestration.ingest.batch import due_sql
from orchestration.ingest.plan import FilePlan
from orchestration.ingest.privacy import quotable_value_sql
from orchestration.ingest.rules import Rule, failures_sql
from orchestration.ingest.sql_text import in_list
from orchestration.ingest.tables import QUARANTINE_TABLE, insert_rows

# Enumerated fields: a value outside the enumeration could be any text, so
# raw_record shows it only when it is one of the known values.
_ENUMERATIONS = {"operation": OPERATIONS, "status": STATUSES, "service_tier": SERVICE_TIERS}


def _recorded(column: str) -> str:
    """The value raw_record keeps of a column of a failing row."""
    if column in _ENUMERATIONS:
        return f"case when {column} is null or {column} in {in_list(_ENUMERATIONS[column])} then {column} else '(value not shown)' end"
    return column


def insert_failing_rows(
    con, rules: list[Rule], ts: str, rows_sql: str, only_due: bool, file_ids: list[int], line_limit: int
) -> None:
    """Quarantine the failing rows of `file_ids` (rows without a day take their file's fallback day).

    Messages quote values only where `quotable_value_sql` allows (numbers,
    times, ids); lines that could not be read are quarantined without text.
    """
    record = "to_json(struct_pack(" + ", ".join(f"{c} := {_recorded(c)}" for c in TRACE_COLUMNS) + "))"
    con.execute(
        f"""insert into {QUARANTINE_TABLE}
        with bad as (
            select b.* replace (coalesce(b._partition_day, fb.fallback_day) as _partition_day), f.rel, f.fmt, f.checksum,
                case when b._malformed is null then b._cast_failures || {failures_sql(rules)} end as fails
            from ({rows_sql}) b join files f using (_file_id)
            left join _day_fallbacks fb using (_file_id)
            where not b._ok and b._file_id in ({", ".join(map(str, file_ids))})
                and {due_sql(only_due, "coalesce(b._partition_day, fb.fallback_day)")}
        ),
        described as (
            select bad.*, li.rule as line_rule from bad
            left join _line_issues li on li._file_id = bad._file_id and li.line = bad._source_line
                and bad._malformed is not null
        )
        select rel, _source_row, _source_line, fmt, checksum, _partition_day,
            coalesce(line_rule, fails[1].rule, 'malformed_record'),
            fails[1].field,
            case when line_rule = 'invalid_utf8'
                 then rel || ': line ' || _source_line::VARCHAR || ': the line is not valid UTF-8 (quarantined without its text)'
                 when line_rule = 'line_too_long'
                 then rel || ': line ' || _source_line::VARCHAR || ': the line is longer than {line_limit} bytes '
                      || '(AGENTLEDGER_INGEST_MAX_LINE_BYTES; quarantined without its text)'
                 when _malformed is not null
                 then rel || ': line ' || coalesce(_source_line::VARCHAR, '?') || ': ' || _malformed
                      || '; expected one readable record per line'
                 else rel || ': row ' || coalesce(_source_row::VARCHAR, '?')
                      || coalesce(' (line ' || _source_line::VARCHAR || ')', '')
                      || ', field ' || fails[1].field || ': expected ' || fails[1].expected
                      || ', got ' || {quotable_value_sql("fails[1].field", "fails[1].got")} end,
            case when line_rule is not null then [line_rule]
                 when _malformed is not null then ['malformed_record']
                 else list_transform(fails, lambda x: x.rule) end,
            case when _malformed is null then {record} end,
            {ts}
        from described"""
    )


def clear_processed(con, pairs: list[tuple[str, date]]) -> None:
    """Delete the quarantine rows of the (landing path, day) pairs this run processes again."""
    if not pairs:
        return
    con.execute("create temp table processed_pairs (rel VARCHAR, day DATE)")
    insert_rows(con, "processed_pairs", pairs)
    con.execute(
        f"delete from {QUARANTINE_TABLE} q where exists (select 1 from processed_pairs p "
        "where p.rel = q.source_file and p.day = q.partition_day)"
    )


def count_quarantined(con, ts: str) -> dict[tuple[int, date], int]:
    """Rows this run quarantined (stamped `ts`) per (file id, day)."""
    return {
        (fid, day): n
        for fid, day, n in con.execute(
            f"""select f._file_id, q.partition_day, count(*) from {QUARANTINE_TABLE} q join files f on f.rel = q.source_file
            where q.quarantined_at = {ts} group by all"""
        ).fetchall()
    }


def unreadable_file_message(plan: FilePlan) -> str:
    """Why a file is quarantined whole, for raw.quarantine and the ledger alike."""
    if plan.fmt and plan.fmt != "unknown":
        return f"{plan.file.rel}: cannot be parsed as {plan.fmt}: {plan.error}"
    return f"{plan.file.rel}: not read: {plan.error}"


def insert_unreadable_files(con, files: list[tuple[FilePlan, date]], run_ts: datetime) -> None:
    """One quarantine row per file that could not be read, on the day it is recorded under."""
    for plan, day in files:
        con.execute(
            f"insert into {QUARANTINE_TABLE} values (?, null, null, ?, ?, ?, ?, null, ?, [?], null, ?)",
            [
                plan.file.rel,
                plan.fmt,
                plan.checksum,
                day,
                plan.error_rule,
                unreadable_file_message(plan),
                plan.error_rule,
                run_ts,
            ],
        )
