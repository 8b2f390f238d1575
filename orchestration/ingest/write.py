"""The write transaction of a run: raw rows, quarantine, ledger and manifest, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orchestration.contract import RAW_SPANS_TABLE, TRACE_COLUMNS
from orchestration.ingest.batch import Sources, due_sql
from orchestration.ingest.dedupe import compute_outcomes
from orchestration.ingest.ledger import (
    IngestionSummary,
    add_quarantined,
    count_outcomes,
    insert_ledger,
    insert_manifest,
    ledger_entries,
)
from orchestration.ingest.plan import FilePlan, RunDays, Window
from orchestration.ingest.quarantine import (
    clear_processed,
    count_quarantined,
    insert_failing_rows,
    insert_unreadable_files,
)
from orchestration.ingest.rules import Rule
from orchestration.ingest.tables import insert_rows
from orchestration.ingest.typed_rows import KEYS_TABLE

_CONTRACT = ", ".join(TRACE_COLUMNS)


@dataclass(frozen=True)
class RunWrite:
    """Everything the write transaction of one run needs."""

    plans: list[FilePlan]
    days: RunDays
    window: Window
    rules: list[Rule]
    sources: Sources
    only_due: bool  # some staged (file, day) pairs are not loaded: rows are filtered on `_due`
    run_ts: datetime  # stamps raw rows, quarantine rows, ledger and manifest of this run
    line_limit: int  # AGENTLEDGER_INGEST_MAX_LINE_BYTES, quoted in the messages of lines too long
    summary: IngestionSummary  # filled with the run's counts


def write_run(con, run: RunWrite) -> None:
    """Write raw rows, quarantine, ledger and manifest in one transaction.

    Rows go from the sources straight into raw.trace_spans (`_ok` rows that
    are not a losing or duplicate version of a span); quarantine reads the
    sources again only for files whose keys show failing rows. The
    ledger's counts per (file, day) come from the keys (rows read), the raw
    rows this run wrote (loaded), the outcomes (duplicates) and the
    quarantine rows it wrote; their sum is checked.
    """
    by_id = {p.file_id: p for p in run.plans}
    load = run.days.load
    con.execute(
        "create temp table files (_file_id INTEGER, rel VARCHAR, mtime_ns BIGINT, checksum VARCHAR, fmt VARCHAR, size BIGINT)"
    )
    # Files quarantined whole have no rows to read (and a changed Parquet file must not be read again).
    insert_rows(
        con,
        "files",
        [
            (p.file_id, p.file.rel, p.file.mtime_ns, p.checksum, p.fmt or "unknown", p.file.size)
            for p in run.plans
            if p.file_id in load and not p.error
        ],
    )
    ts = f"TIMESTAMP '{run.run_ts.isoformat(sep=' ')}'"
    rows_sql = run.sources.rows_sql()
    due = due_sql(run.only_due)
    has_outcomes = compute_outcomes(con, rows_sql, due)

    con.execute("begin transaction")
    try:
        clear_processed(con, [(by_id[fid].file.rel, d) for fid, days in load.items() for d in days])
        if has_outcomes:
            con.execute(
                f"delete from {RAW_SPANS_TABLE} where span_id in (select span_id from outcomes where outcome = 'replace')"
            )
            keep = (
                "and not exists (select 1 from outcomes o where o._file_id = b._file_id "
                "and o._source_row = b._source_row and o.outcome in ('duplicate', 'stale'))"
            )
        else:
            keep = ""
        failing = {
            fid for (fid,) in con.execute(f"select distinct _file_id from {KEYS_TABLE} where not _ok").fetchall()
        }
        con.execute(
            f"""insert into {RAW_SPANS_TABLE} ({_CONTRACT}, _source_file, _source_row, _source_format, _loaded_at)
            select {", ".join("b." + c for c in TRACE_COLUMNS)}, f.rel, b._source_row, f.fmt, {ts}
            from ({run.sources.passing_rows_sql(failing)}) b join files f using (_file_id)
            where {due} {keep}"""
        )
        counts = count_outcomes(con, ts, has_outcomes)
        if failing:
            insert_failing_rows(con, run.rules, ts, rows_sql, run.only_due, sorted(failing), run.line_limit)
            add_quarantined(counts, count_quarantined(con, ts))
        entries = ledger_entries(run.plans, run.days, counts, run.summary)
        insert_unreadable_files(
            con, [(by_id[fid], days[0]) for fid, days in load.items() if by_id[fid].error], run.run_ts
        )
        insert_ledger(con, entries, run.window, run.run_ts)
        insert_manifest(con, run.plans, run.run_ts)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
