"""Load landing files into raw.trace_spans: validated, quarantined, idempotent.

A run covers a window of partition days. A row's partition day is the UTC day
of its started_at; rows whose start is missing or outside the accepted range
(they are quarantined anyway) take the day their path names
(`date=YYYY-MM-DD/`), else the earliest valid day in the same file, else the
file's modification day. Files are tracked per (file version, partition day)
so one day can be (re)loaded alone and late data for an old day waits for
that day's run (`pending_days` reports it).

Deduplication is on span_id; the latest version of a span wins (dedupe.py).
For every file and day: rows_read = rows_loaded + rows_quarantined +
duplicates_skipped (ledger.py).

This module holds the two entry points; each step has its own module:

| module | job |
| --- | --- |
| plan.py | what each landing file needs: checksum, known days, the days due in the window |
| batch.py | read files into the run's tables (`batch`, Parquet sources, `batch_keys`) and learn their days |
| typed_rows.py | the one SELECT that types, normalises and checks a file's rows |
| dedupe.py | which version of a span wins |
| quarantine.py | failing rows and unreadable files -> raw.quarantine |
| ledger.py | counts per (file, day), the run's summary, ledger and manifest rows |
| write.py | the write transaction: raw rows, quarantine, ledger, manifest |
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, date, datetime

import duckdb

from orchestration.ingest.batch import (
    Sources,
    StageContext,
    create_run_tables,
    drop_keys_not_due,
    private_workdir,
    stage_all,
)
from orchestration.ingest.landing import discover
from orchestration.ingest.ledger import DayCounts, IngestionSummary
from orchestration.ingest.options import load_ingest_options
from orchestration.ingest.plan import LoadState, Window, plan_files, read_state, select_days, settle_days
from orchestration.ingest.rules import build_rules
from orchestration.ingest.tables import configure, connect_warehouse
from orchestration.ingest.write import RunWrite, write_run
from orchestration.settings import Settings

__all__ = ["DayCounts", "IngestionSummary", "ingest_window", "pending_days"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ingest_window(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    *,
    force: bool = False,
) -> IngestionSummary:
    """Load every landing file's rows whose partition day lies in [start, end] (None: unbounded).

    A (file content, day) already loaded is skipped and recorded as
    skipped_unchanged, unless `force`, which reprocesses the window's files;
    either way the raw table ends up with one row per span_id.

    Flow (docs/ingestion.md, "How a load runs"): plan the files (plan.py);
    stage them (batch.py: text files copied into `batch`, Parquet files left
    in place as SQL sources) and record one narrow key row per staged row
    (`batch_keys`); learn days and drop the keys of pairs not due; find
    span_id collisions on the keys (dedupe.py); then, in one transaction
    (write.py), insert the passing rows from the sources straight into raw,
    quarantine the failing ones (quarantine.py, re-reading only files that
    have some), and write ledger and manifest (ledger.py).
    """
    if start and end and start > end:
        raise ValueError(f"window start {start} is after its end {end}")
    window = Window(start, end, force)
    options = load_ingest_options()
    now = _now()
    rules = build_rules(options, now)
    summary = IngestionSummary(window_start=start, window_end=end, forced=force)
    files = discover(settings.landing_dir, allow_symlinks=options.limits.allow_symlinks)
    con = connect_warehouse(settings, options)
    workdir = private_workdir(settings.data_dir)
    try:
        state = read_state(con)
        create_run_tables(con)
        ctx = StageContext(options, rules, settings.user_id_salt, workdir)
        sources = Sources()
        plans = plan_files(files, state)
        # Files whose days are unknown are read now (that is how their days
        # are learnt); files known from the manifest only if a day is due.
        first_round = [p for p in plans if p.days is None]
        stage_all(con, first_round, ctx, sources)
        days, second_round = select_days(plans, state, window, staged={p.file_id for p in first_round})
        stage_all(con, second_round, ctx, sources)
        settle_days(days, second_round, state, window)
        summary.files_seen = days.files_seen
        summary.files_skipped_unchanged = days.files_skipped_unchanged
        staged = {p.file_id for p in first_round + second_round}
        only_due = drop_keys_not_due(con, [p for p in plans if p.file_id in staged], days.load)
        write_run(
            con,
            RunWrite(
                plans=plans,
                days=days,
                window=window,
                rules=rules,
                sources=sources,
                only_due=only_due,
                run_ts=now,
                line_limit=options.limits.max_line_bytes,
                summary=summary,
            ),
        )
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return summary


def pending_days(settings: Settings) -> dict[date, list[str]]:
    """Partition days touched by landing files (new, changed or late) not yet loaded.

    Reads the warehouse read-only and briefly; files it has not seen before
    are read in memory (only their start times) to learn their days.
    """
    options = load_ingest_options()
    rules = build_rules(options, _now())
    state = LoadState()
    if settings.warehouse_path.exists():
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            state = read_state(con)
        finally:
            con.close()
    pending: dict[date, list[str]] = defaultdict(list)
    plans = plan_files(discover(settings.landing_dir, allow_symlinks=options.limits.allow_symlinks), state)
    unknown = [p for p in plans if p.days is None]
    if unknown:
        scratch = duckdb.connect()
        workdir = private_workdir(None)
        try:
            configure(scratch, options)
            create_run_tables(scratch)
            stage_all(scratch, unknown, StageContext(options, rules, settings.user_id_salt, workdir), Sources())
        finally:
            scratch.close()
            shutil.rmtree(workdir, ignore_errors=True)
    for plan in plans:
        for day in plan.days or {}:
            if (plan.checksum, day) not in state.done:
                pending[day].append(plan.file.rel)
    return {d: sorted(v) for d, v in sorted(pending.items())}
