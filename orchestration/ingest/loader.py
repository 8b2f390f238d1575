"""Load landing files into raw.trace_spans: validated, quarantined, idempotent.

A run covers a window of partition days. A row's partition day is the UTC day
of its started_at; rows whose start is missing or outside the accepted range
(they are quarantined anyway) take the day their path names
(`date=YYYY-MM-DD/`), else the earliest valid day in the same file, else the
file's modification day. Files are tracked per (file version, partition day)
so one day can be (re)loaded alone and late data for an old day waits for
that day's run (`pending_days` reports it).

Deduplication is on span_id. Among versions of a span (rows already in raw
and rows of this run) the latest wins: the version from the file with the
later modification time, then the later landing path (lexicographic), then
the later row in the file; a newer version of the same file beats its older
self. A version identical in content to the winner, or losing to it, is
counted in duplicates_skipped. For every file and day:
rows_read = rows_loaded + rows_quarantined + duplicates_skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from orchestration.contract import OPERATIONS, RAW_SPANS_TABLE, SERVICE_TIERS, STATUSES, TRACE_COLUMNS
from orchestration.ingest.landing import (
    FileRejected,
    LandingFile,
    LineIssue,
    UnrecognisedFormat,
    detect_format,
    discover,
    is_gzip,
    path_day_hint,
    scan_text,
    sha256_file,
    write_clean_copy,
)
from orchestration.ingest.options import IngestOptions, load_ingest_options
from orchestration.ingest.privacy import quotable_value_sql
from orchestration.ingest.readers import (
    STAGE_FILES_TABLE,
    check_csv_header,
    parquet_group_query,
    parquet_needs_single_read,
    parquet_schema,
    source_query,
)
from orchestration.ingest.rules import Rule, build_rules, failures_sql
from orchestration.ingest.sql_text import in_list, lit
from orchestration.ingest.staging import BATCH_TABLE, KEYS_TABLE, STAGE_DATABASE, batch_ddl, keys_ddl, keys_insert_sql, stage_sql
from orchestration.ingest.tables import (
    LEDGER_TABLE,
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    configure,
    connect_warehouse,
)
from orchestration.settings import Settings

DONE_STATUSES = ("loaded", "unparseable")
# Ledger status of a file that changed while it was read: not done, read again next run.
CHANGED_STATUS = "changed_during_read"
_CONTRACT = ", ".join(TRACE_COLUMNS)


@dataclass
class DayCounts:
    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    rows_replaced: int = 0


@dataclass
class IngestionSummary:
    window_start: date | None
    window_end: date | None
    forced: bool
    files_seen: int = 0
    files_loaded: int = 0
    files_skipped_unchanged: int = 0
    files_quarantined: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    rows_replaced: int = 0
    per_day: dict[date, DayCounts] = field(default_factory=dict)

    @property
    def bad_share(self) -> float:
        """Quarantined rows over rows read (0 when nothing was read)."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def days(self) -> list[date]:
        return sorted(self.per_day)


@dataclass
class _Manifest:
    checksum: str
    size: int
    mtime_ns: int
    fmt: str
    days: dict[date, int]


@dataclass
class _Plan:
    file: LandingFile
    checksum: str
    fmt: str | None
    days: dict[date, int] | None
    manifest_fresh: bool
    file_id: int = 0
    error: str | None = None  # why the whole file is quarantined (never quotes its content)
    error_rule: str = "unparseable_file"
    changed: bool = False  # the file changed while it was read
    line_issues: list[LineIssue] = field(default_factory=list)


@dataclass
class _State:
    manifest: dict[str, _Manifest]
    by_checksum: dict[str, _Manifest]
    done: set[tuple[str, date]]


def _in_window(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def _read_state(con: duckdb.DuckDBPyConnection | None) -> _State:
    manifest: dict[str, _Manifest] = {}
    by_checksum: dict[str, _Manifest] = {}
    done: set[tuple[str, date]] = set()
    if con is None:
        return _State(manifest, by_checksum, done)
    if _table_exists(con, MANIFEST_TABLE):
        for rel, checksum, size, mtime_ns, fmt, day, rows in con.execute(
            f"select source_file, checksum, size_bytes, file_mtime_ns, source_format, partition_day, rows from {MANIFEST_TABLE}"
        ).fetchall():
            m = manifest.setdefault(rel, _Manifest(checksum, size, mtime_ns, fmt, {}))
            m.days[day] = rows
            by_checksum.setdefault(checksum, m)
    if _table_exists(con, LEDGER_TABLE):
        done = {
            (c, d)
            for c, d in con.execute(
                f"select distinct checksum, partition_day from {LEDGER_TABLE} where status in {DONE_STATUSES}"
            ).fetchall()
        }
    return _State(manifest, by_checksum, done)


def _synthetic_checksum(f: LandingFile, what: str) -> str:
    """A stand-in checksum for an entry whose bytes are not read (a symlink
    leading outside, an unreadable file): changes when the entry does."""
    return hashlib.sha256(f"{what}\0{f.rel}\0{f.size}\0{f.mtime_ns}".encode()).hexdigest()


def _plan(f: LandingFile, state: _State) -> _Plan:
    if f.problem:
        rule, message = f.problem
        plan = _Plan(f, _synthetic_checksum(f, rule), "unknown", None, manifest_fresh=False, error=message, error_rule=rule)
        plan.days = {_fallback_day(f): 0}
        return plan
    m = state.manifest.get(f.rel)
    if m and m.size == f.size and m.mtime_ns == f.mtime_ns:
        return _Plan(f, m.checksum, m.fmt, dict(m.days), manifest_fresh=True)
    try:
        checksum = sha256_file(f.path)
    except OSError as exc:
        plan = _Plan(f, _synthetic_checksum(f, "unreadable"), "unknown", None, manifest_fresh=False)
        plan.error = f"the file cannot be read ({type(exc).__name__})"
        plan.days = {_fallback_day(f): 0}
        return plan
    if m and m.checksum == checksum:
        return _Plan(f, checksum, m.fmt, dict(m.days), manifest_fresh=False)
    other = state.by_checksum.get(checksum)
    if other:
        return _Plan(f, checksum, other.fmt, dict(other.days), manifest_fresh=False)
    return _Plan(f, checksum, None, None, manifest_fresh=False)


def _fallback_day(f: LandingFile) -> date:
    return path_day_hint(f.rel) or f.mtime.date()


def _day_literal(day: date | None) -> str:
    return f"DATE '{day.isoformat()}'" if day else "null::DATE"


def _describe_failure(exc: BaseException) -> tuple[str, str]:
    """(rule, message) for an exception raised while reading one file.

    Messages come from this vocabulary only: errors of DuckDB, zlib or the csv
    module quote lines of the file (or absolute paths) and are never copied.
    """
    import gzip
    import zlib

    if isinstance(exc, FileRejected):
        return exc.rule, exc.message
    if isinstance(exc, UnrecognisedFormat):
        return "unparseable_file", str(exc)
    if isinstance(exc, RecursionError):
        return "json_too_deep", "nested too deeply to be read"
    if isinstance(exc, (zlib.error, EOFError, gzip.BadGzipFile)):
        return "unparseable_file", "corrupt or truncated gzip stream"
    if isinstance(exc, (MemoryError, duckdb.OutOfMemoryException)):
        return "unparseable_file", "reading it ran out of memory (a corrupt or oversized file)"
    if isinstance(exc, duckdb.Error):
        text = str(exc).lower()
        if "gzip" in text or "zstd" in text or "decompress" in text:
            return "unparseable_file", "corrupt or truncated compressed stream"
        if "unicode" in text or "utf-8" in text or "utf8" in text:
            return "invalid_utf8", "not valid UTF-8"
        if "parquet" in text or "magic" in text or "thrift" in text:
            return "unparseable_file", "not a readable Parquet file"
        return "unparseable_file", f"DuckDB could not read it ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return "unparseable_file", f"the file cannot be read ({type(exc).__name__})"
    return "unparseable_file", f"reading it failed ({type(exc).__name__})"


def _fail(con, plan: _Plan, exc: BaseException) -> None:
    con.execute(f"delete from {BATCH_TABLE} where _file_id = ?", [plan.file_id])
    plan.fmt = plan.fmt or "unknown"
    plan.error_rule, plan.error = _describe_failure(exc)
    plan.days = {_fallback_day(plan.file): 0}


def _changed_since_listed(f: LandingFile) -> bool:
    try:
        st = os.stat(f.path)
    except OSError:
        return True
    return st.st_size != f.size or st.st_mtime_ns != f.mtime_ns


def _read_path(plan: _Plan, options: IngestOptions, workdir: Path) -> Path:
    """The path a text file's reader reads: the file itself, or a cleaned copy
    (decompressed, BOM dropped, unreadable lines replaced) in the run's
    private folder when the pre-pass found lines that must be quarantined
    one by one. Raises FileRejected for a whole-file limit."""
    ext = "csv" if plan.fmt == "csv" else "jsonl"
    if plan.fmt == "csv":
        check_csv_header(plan.file.path, options.limits)  # before any line is rewritten
    unpacked = workdir / f"f{plan.file_id}.unpacked.{ext}" if is_gzip(plan.file.path) else None
    scan = scan_text(plan.file.path, plan.fmt, options.limits, copy_to=unpacked)
    source = unpacked or plan.file.path
    if not scan.needs_copy(plan.fmt):
        return source
    copy = workdir / f"f{plan.file_id}.{ext}"
    plan.line_issues = write_clean_copy(source, copy, plan.fmt, options.limits)
    if unpacked is not None:
        unpacked.unlink()
    return copy


@dataclass
class _Source:
    sql: str  # a relation with the `batch` layout
    file_ids: set[int]


@dataclass
class _Sources:
    """Where a run's staged rows are read from: SQL relations with the `batch` layout.

    Text files are materialised in the table `batch` (parsing them is
    the expensive part, and their line numbers follow one scan). Parquet
    files are not: each group of them is a `stage_sql` query over
    `read_parquet`, evaluated again by each statement that needs the rows,
    because decoding Parquet is cheap and copying 16M typed rows into a temp
    table (and reading them back) cost more than the whole final insert.
    """

    parquet: list[_Source] = field(default_factory=list)
    text_file_ids: set[int] = field(default_factory=set)

    def _all(self) -> list[_Source]:
        batch = [_Source(f"select * from {BATCH_TABLE}", self.text_file_ids)] if self.text_file_ids else []
        return batch + self.parquet

    def rows_sql(self) -> str:
        """Every staged row."""
        relations = [s.sql for s in self._all()] or [f"select * from {BATCH_TABLE}"]
        return " union all by name ".join(f"({r})" for r in relations)

    def passing_rows_sql(self, failing_files: set[int]) -> str:
        """The rows that pass every rule: a source is filtered on `_ok` only if one of its files has failing rows."""
        relations = [
            f"select * from ({s.sql}) where _ok" if s.file_ids & failing_files else s.sql for s in self._all()
        ] or [f"select * from {BATCH_TABLE} where _ok"]
        return " union all by name ".join(f"({r})" for r in relations)


def _create_run_tables(con) -> None:
    """The temp tables a run stages into (see _Sources and keys_ddl)."""
    con.execute(f"attach ':memory:' as {STAGE_DATABASE}")
    con.execute(batch_ddl())
    con.execute(keys_ddl())
    con.execute(f"create temp table {STAGE_FILES_TABLE} (_stage_path VARCHAR, _file_id INTEGER, _day_hint DATE)")
    con.execute("create temp table _day_fallbacks (_file_id INTEGER, fallback_day DATE)")
    # Lines the pre-pass replaced (not UTF-8, too long): their quarantine rule.
    con.execute("create temp table _line_issues (_file_id INTEGER, line BIGINT, rule VARCHAR)")


def _stage_one(con, plan: _Plan, options: IngestOptions, rules: list[Rule], salt: str, workdir: Path) -> bool:
    """Append one file's rows to the `batch` table; False (and plan.error) when it cannot be read.

    Any exception while reading, decompressing or staging the file
    quarantines that file alone. The caller turns preserve_insertion_order
    on: line and record numbers of text formats follow scan order.
    """
    f = plan.file
    try:
        path = f.path if plan.fmt == "parquet" else _read_path(plan, options, workdir)
        query = source_query(con, path, plan.fmt, options.mapping, tag=str(plan.file_id), limits=options.limits)
        sql = stage_sql(
            query,
            salt=salt,
            rules=rules,
            file_id_sql=f"{plan.file_id}::INTEGER",
            day_hint_sql=_day_literal(path_day_hint(f.rel)),
            limits=options.limits,
        )
        con.execute(f"insert into {BATCH_TABLE} by name {sql}")
        if query.rejects_table:
            _stage_csv_rejects(con, plan, query.rejects_table)
    except Exception as exc:
        _fail(con, plan, exc)
        return False
    return True


def _stage_text_files(
    con, plans: list[_Plan], options: IngestOptions, rules: list[Rule], salt: str, workdir: Path
) -> list[_Plan]:
    """Stage text files into `batch`, several at a time; returns those that could be read.

    A statement reading one text file runs on one core: an OTLP file holds
    a few dozen very long lines, all in one vector. Files are therefore
    staged concurrently, each worker thread on its own cursor (DuckDB
    releases the GIL while a statement runs), as many as the load's threads.
    """
    if not plans:
        return []
    # Line and record numbers of text formats follow scan order (a global setting).
    con.execute("set preserve_insertion_order = true")
    try:
        workers = min(len(plans), max(1, int(options.threads)))
        if workers == 1:
            readable = [_stage_one(con, p, options, rules, salt, workdir) for p in plans]
        else:
            local = threading.local()
            cursors: list[duckdb.DuckDBPyConnection] = []

            def stage(plan: _Plan) -> bool:
                if not hasattr(local, "cursor"):
                    local.cursor = con.cursor()
                    cursors.append(local.cursor)
                return _stage_one(local.cursor, plan, options, rules, salt, workdir)

            try:
                with ThreadPoolExecutor(workers) as pool:
                    readable = list(pool.map(stage, plans))
            finally:
                for cursor in cursors:
                    cursor.close()
    finally:
        con.execute("set preserve_insertion_order = false")
    return [p for p, ok in zip(plans, readable) if ok]


def _add_parquet_source(
    con, plans: list[_Plan], schema, rules: list[Rule], salt: str, sources: _Sources, options: IngestOptions
) -> None:
    """Register Parquet files of one schema as one source and record their keys (one scan of all of them).

    Raises (leaving nothing behind) when any of the files cannot be read.
    """
    ids = ", ".join(str(p.file_id) for p in plans)
    _insert_rows(con, STAGE_FILES_TABLE, [(str(p.file.path), p.file_id, path_day_hint(p.file.rel)) for p in plans])
    try:
        relation = stage_sql(
            parquet_group_query([p.file.path for p in plans], schema), salt=salt, rules=rules, limits=options.limits
        )
        con.execute(keys_insert_sql(relation))
    except BaseException:
        con.execute(f"delete from {STAGE_FILES_TABLE} where _file_id in ({ids})")
        raise
    sources.parquet.append(_Source(relation, {p.file_id for p in plans}))


def _stage_all(
    con, plans: list[_Plan], options: IngestOptions, rules: list[Rule], salt: str, sources: _Sources, workdir: Path
) -> None:
    """Make the rows of `plans` readable from `sources`, record their keys and learn each file's rows per day.

    Text files are staged into `batch` file by file (their line numbers come
    from the order of one file's scan). Parquet files sharing a schema are
    one source, read in one statement; if that statement fails, they are
    retried one by one so that a broken file is quarantined alone. Sets
    plan.fmt and plan.days, or plan.error for a file that cannot be read.
    """
    parquet_groups: dict[tuple, list[_Plan]] = defaultdict(list)
    text_plans: list[_Plan] = []
    for plan in plans:
        if plan.error:
            continue
        try:
            if not plan.fmt or plan.fmt == "unknown":
                plan.fmt = detect_format(plan.file.path, options.limits)
            if plan.fmt == "parquet":
                schema = parquet_schema(con, plan.file.path)
                if parquet_needs_single_read(schema):
                    text_plans.append(plan)  # read alone, in scan order, like a text file
                else:
                    parquet_groups[schema].append(plan)
            else:
                text_plans.append(plan)
        except Exception as exc:
            _fail(con, plan, exc)
    staged = _stage_text_files(con, text_plans, options, rules, salt, workdir)
    text_ids = [p.file_id for p in staged]
    if text_ids:
        sources.text_file_ids.update(text_ids)
        con.execute(keys_insert_sql(f"select * from {BATCH_TABLE} where _file_id in ({', '.join(map(str, text_ids))})"))
    for schema, group in parquet_groups.items():
        if len(group) > 1:
            try:
                _add_parquet_source(con, group, schema, rules, salt, sources, options)
                staged.extend(group)
                continue
            except Exception:
                pass
        for plan in group:
            try:
                _add_parquet_source(con, [plan], schema, rules, salt, sources, options)
                staged.append(plan)
            except Exception as exc:
                _fail(con, plan, exc)
    # A file whose size or modification time moved while it was read holds
    # rows of neither version for sure: none are loaded, and the ledger says
    # so (not "done": the next run reads the new version).
    changed = [p for p in staged if _changed_since_listed(p.file)]
    for plan in changed:
        _fail(con, plan, FileRejected("file_changed_during_read", "the file changed while it was read; it is read again on the next run"))
        plan.changed = True
        con.execute(f"delete from {KEYS_TABLE} where _file_id = ?", [plan.file_id])
    staged = [p for p in staged if not p.changed]
    issues = [(p.file_id, i.line, i.rule) for p in staged for i in p.line_issues]
    if issues:
        _insert_rows(con, "_line_issues", issues)
    if staged:
        _learn_days(con, staged)


def _learn_days(con, staged: list[_Plan]) -> None:
    """plan.days from one GROUP BY over the staged keys; rows without a day get their file's fallback."""
    by_id = {p.file_id: p for p in staged}
    stats = con.execute(
        "select _file_id, _partition_day, count(*), count(_malformed), any_value(_malformed) "
        f"from {KEYS_TABLE} group by all"
    ).fetchall()
    per_file: dict[int, list[tuple]] = defaultdict(list)
    for fid, day, n, malformed, first in stats:
        if fid in by_id:
            per_file[fid].append((day, n, malformed, first))
    fallbacks = []
    unreadable = []
    for fid, plan in by_id.items():
        rows = per_file.get(fid, [])
        total = sum(r[1] for r in rows)
        malformed = sum(r[2] for r in rows)
        if not total:
            # No rows at all (an empty file, a header-only CSV): still one ledger row, on its fallback day.
            plan.days = {_fallback_day(plan.file): 0}
            continue
        if malformed == total:
            # Not one record could be read: quarantine the file as a whole.
            # (_malformed holds the loader's own reasons, never the line's text.)
            first = next(r[3] for r in rows if r[3])
            unreadable.append(fid)
            plan.error = f"no record could be read ({malformed} tried; first: {first})"
            plan.days = {_fallback_day(plan.file): 0}
            continue
        days = {r[0]: r[1] for r in rows if r[0] is not None}
        undated = sum(r[1] for r in rows if r[0] is None)
        if undated:
            # No valid start and no day in the path: the file's earliest valid day, else its modification day.
            fallback = min(days) if days else plan.file.mtime.date()
            fallbacks.append((fid, fallback))
            days[fallback] = days.get(fallback, 0) + undated
        plan.days = days
    if unreadable:
        ids = ", ".join(map(str, unreadable))
        con.execute(f"delete from {BATCH_TABLE} where _file_id in ({ids})")
        con.execute(f"delete from {KEYS_TABLE} where _file_id in ({ids})")
    if fallbacks:
        # Only rows that fail a rule lack a day (a valid start gives one); the
        # quarantine insert reads their day from _day_fallbacks too.
        _insert_rows(con, "_day_fallbacks", fallbacks)
        con.execute(
            f"update {KEYS_TABLE} set _partition_day = d.fallback_day from _day_fallbacks d "
            f"where {KEYS_TABLE}._file_id = d._file_id and {KEYS_TABLE}._partition_day is null"
        )


def _insert_rows(con, table: str, rows: list[tuple], chunk: int = 500) -> None:
    """Insert Python tuples with a few multi-row statements (executemany runs one statement per row)."""
    if not rows:
        return
    width = len(rows[0])
    placeholders = "(" + ", ".join(["?"] * width) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(
            f"insert into {table} values " + ", ".join([placeholders] * len(part)),
            [v for row in part for v in row],
        )


# DuckDB's reject messages quote the line; only its error type is kept.
_CSV_REJECT_REASON = (
    "case error_type when 'TOO MANY COLUMNS' then 'the line has more fields than the header' "
    "when 'MISSING COLUMNS' then 'the line has fewer fields than the header' "
    "when 'UNQUOTED VALUE' then 'a quote is not closed properly' "
    "when 'INVALID ENCODING' then 'the line is not valid UTF-8' "
    "when 'LINE SIZE OVER MAXIMUM' then 'the line is too long' "
    "else 'the line cannot be parsed as CSV (' || lower(coalesce(error_type::VARCHAR, 'unknown')) || ')' end"
)


def _stage_csv_rejects(con, plan: _Plan, rejects: str) -> None:
    """Lines DuckDB's CSV reader rejected become malformed rows of the batch."""
    try:
        count = con.execute(f"select count(*) from {rejects}").fetchone()[0]
        if count:
            fallback = _day_literal(path_day_hint(plan.file.rel))
            con.execute(
                f"""insert into {BATCH_TABLE} by name
                select {plan.file_id}::INTEGER as _file_id, null::BIGINT as _source_row, line::BIGINT as _source_line,
                    {_CSV_REJECT_REASON} as _malformed,
                    []::STRUCT(rule VARCHAR, field VARCHAR, expected VARCHAR, got VARCHAR)[] as _cast_failures,
                    {fallback} as _partition_day, false as _ok
                from (select line, min_by(error_type, coalesce(column_idx, 0)) as error_type
                      from {rejects} group by line)"""
            )
    finally:
        con.execute(f"drop table if exists {rejects}")
        con.execute(f"drop table if exists {rejects}_scan")


def _content_hash(prefix: str) -> str:
    return "hash(" + ", ".join(f"{prefix}{c}" for c in TRACE_COLUMNS) + ")"


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

    Flow (docs/ingestion.md, "How a load runs"): stage the files (text files
    copied into `batch`, Parquet files left in place as SQL sources) and
    record one narrow key row per staged row (`batch_keys`); learn days and
    drop the keys of pairs not due; find span_id collisions on the keys;
    then, in one transaction, insert the passing rows from the sources
    straight into raw, quarantine the failing ones (re-reading only files
    that have some), and write ledger and manifest.
    """
    if start and end and start > end:
        raise ValueError(f"window start {start} is after its end {end}")
    options = load_ingest_options()
    now = _now()
    rules = build_rules(options, now)
    summary = IngestionSummary(window_start=start, window_end=end, forced=force)
    files = discover(settings.landing_dir, allow_symlinks=options.limits.allow_symlinks)
    con = connect_warehouse(settings, options)
    workdir = _private_workdir(settings.data_dir)
    try:
        state = _read_state(con)
        _create_run_tables(con)
        sources = _Sources()
        plans = [_plan(f, state) for f in files]
        for i, plan in enumerate(plans, start=1):
            plan.file_id = i
        # Files whose days are unknown are read now (that is how their days
        # are learnt); files known from the manifest only if a day is due.
        first_round = [p for p in plans if p.days is None]
        _stage_all(con, first_round, options, rules, settings.user_id_salt, sources, workdir)
        staged = {p.file_id for p in first_round}
        todo: dict[int, list[date]] = {}
        skipped: dict[int, list[date]] = {}
        second_round: list[_Plan] = []
        for plan in plans:
            wanted = sorted(d for d in plan.days if _in_window(d, start, end))
            if not wanted:
                continue
            summary.files_seen += 1
            needed = [d for d in wanted if force or (plan.checksum, d) not in state.done]
            skipped[plan.file_id] = [d for d in wanted if d not in needed]
            if not needed:
                summary.files_skipped_unchanged += 1
            elif plan.file_id in staged:
                todo[plan.file_id] = needed
            else:
                second_round.append(plan)
        _stage_all(con, second_round, options, rules, settings.user_id_salt, sources, workdir)
        for plan in second_round:
            staged.add(plan.file_id)
            needed = [
                d for d in sorted(plan.days) if _in_window(d, start, end) and (force or (plan.checksum, d) not in state.done)
            ]
            if needed:
                todo[plan.file_id] = needed
        only_due = _drop_keys_not_due(con, [p for p in plans if p.file_id in staged], todo)
        _write(con, plans, todo, skipped, rules, summary, start, end, now, sources, only_due, options.limits.max_line_bytes)
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return summary


def _private_workdir(parent: Path | None) -> Path:
    """A folder only this run uses (mode 0700) for cleaned copies of text files."""
    base = None
    if parent is not None:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            base = str(parent)
        except OSError:
            base = None
    return Path(tempfile.mkdtemp(prefix=".ingest-work-", dir=base))


def _drop_keys_not_due(con, staged: list[_Plan], todo: dict[int, list[date]]) -> bool:
    """Forget staged rows of (file, day) pairs this run does not load; True when there were any.

    The keys of those rows are deleted (one statement); the sources still
    hold them, so the statements that read rows from the sources then keep
    only the pairs listed in the temp table `_due`.
    """
    if all(
        not any(plan.days.values()) or set(d for d, n in plan.days.items() if n) <= set(todo.get(plan.file_id, ()))
        for plan in staged
    ):
        return False
    con.execute("create or replace temp table _due (_file_id INTEGER, day DATE)")
    _insert_rows(con, "_due", [(fid, d) for fid, days in todo.items() for d in days])
    con.execute(
        f"delete from {KEYS_TABLE} k where not exists "
        "(select 1 from _due d where d._file_id = k._file_id and d.day = k._partition_day)"
    )
    return True


def _due_sql(only_due: bool, day: str = "b._partition_day") -> str:
    """SQL condition keeping source rows `b` of the (file, day) pairs this run loads."""
    if not only_due:
        return "true"
    return f"exists (select 1 from _due d where d._file_id = b._file_id and d.day = {day})"


def _write(
    con, plans, todo, skipped, rules, summary, start, end, run_ts, sources: _Sources, only_due: bool, line_limit: int
) -> None:
    """Write raw rows, quarantine, ledger and manifest in one transaction.

    Rows go from the sources straight into raw.trace_spans (`_ok` rows that
    are not a losing or duplicate version of a span); quarantine reads the
    sources again only for files whose keys show failing rows. The
    ledger's counts per (file, day) come from the keys (rows read), the raw
    rows this run wrote (loaded), the outcomes (duplicates) and the
    quarantine rows it wrote; their sum is checked.
    """
    by_id = {p.file_id: p for p in plans}
    con.execute(
        "create temp table files (_file_id INTEGER, rel VARCHAR, mtime_ns BIGINT, checksum VARCHAR, fmt VARCHAR, size BIGINT)"
    )
    # Files quarantined whole have no rows to read (and a changed Parquet file must not be read again).
    rows = [
        (p.file_id, p.file.rel, p.file.mtime_ns, p.checksum, p.fmt or "unknown", p.file.size)
        for p in plans
        if p.file_id in todo and not p.error
    ]
    _insert_rows(con, "files", rows)
    ts = f"TIMESTAMP '{run_ts.isoformat(sep=' ')}'"
    rows_sql = sources.rows_sql()
    due = _due_sql(only_due)
    has_outcomes = _compute_outcomes(con, rows_sql, due)

    con.execute("begin transaction")
    try:
        # Quarantine reflects the latest processing of each (file, day).
        pairs = [(by_id[fid].file.rel, d) for fid, days in todo.items() for d in days]
        if pairs:
            con.execute("create temp table processed_pairs (rel VARCHAR, day DATE)")
            _insert_rows(con, "processed_pairs", pairs)
            con.execute(
                f"delete from {QUARANTINE_TABLE} q where exists (select 1 from processed_pairs p "
                "where p.rel = q.source_file and p.day = q.partition_day)"
            )
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
        failing = {fid for fid, in con.execute(f"select distinct _file_id from {KEYS_TABLE} where not _ok").fetchall()}
        con.execute(
            f"""insert into {RAW_SPANS_TABLE} ({_CONTRACT}, _source_file, _source_row, _source_format, _loaded_at)
            select {', '.join('b.' + c for c in TRACE_COLUMNS)}, f.rel, b._source_row, f.fmt, {ts}
            from ({sources.passing_rows_sql(failing)}) b join files f using (_file_id)
            where {due} {keep}"""
        )
        counts = _count_outcomes(con, ts, has_outcomes)
        if failing:
            _insert_quarantine(con, rules, ts, rows_sql, only_due, sorted(failing), line_limit)
            for (fid, day), n in _count_quarantined(con, ts).items():
                counts.setdefault((fid, day), [0, 0, 0, 0, 0])[3] = n
        _insert_ledger(con, plans, todo, skipped, summary, start, end, run_ts, counts)
        _insert_manifest(con, plans, run_ts)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _count_outcomes(con, ts: str, has_outcomes: bool) -> dict[tuple[int, date], list[int]]:
    """(file id, day) -> [read, loaded, duplicates, quarantined (0 until counted), replaced].

    Read from the keys; loaded from the raw rows this run wrote (stamped
    with its timestamp; a loaded row's partition day is its start's day);
    duplicates and replacements from the outcomes.
    """
    counts: dict[tuple[int, date], list[int]] = {}
    for fid, day, n in con.execute(f"select _file_id, _partition_day, count(*) from {KEYS_TABLE} group by all").fetchall():
        counts[(fid, day)] = [n, 0, 0, 0, 0]
    for fid, day, n in con.execute(
        f"""select f._file_id, r.started_at::DATE, count(*) from {RAW_SPANS_TABLE} r join files f on f.rel = r._source_file
        where r._loaded_at = {ts} group by all"""
    ).fetchall():
        counts.setdefault((fid, day), [0, 0, 0, 0, 0])[1] = n
    if has_outcomes:
        for fid, day, dups, replaced in con.execute(
            """select _file_id, _partition_day, count(*) filter (where outcome in ('duplicate', 'stale')),
                count(*) filter (where outcome = 'replace')
            from outcomes group by all"""
        ).fetchall():
            entry = counts.setdefault((fid, day), [0, 0, 0, 0, 0])
            entry[2], entry[4] = dups, replaced
    return counts


def _count_quarantined(con, ts: str) -> dict[tuple[int, date], int]:
    return {
        (fid, day): n
        for fid, day, n in con.execute(
            f"""select f._file_id, q.partition_day, count(*) from {QUARANTINE_TABLE} q join files f on f.rel = q.source_file
            where q.quarantined_at = {ts} group by all"""
        ).fetchall()
    }


def _compute_outcomes(con, rows_sql: str, due: str) -> bool:
    """Classify the rows that share a span_id with another row of the run or of raw.

    Creates temp table `outcomes(_file_id, _source_row, _partition_day,
    span_id, outcome)` with outcome in insert, replace, duplicate, stale;
    returns False when no row collides (the common case), so the hot path
    skips the anti-join. Candidates are found on the keys' span_id hashes
    (a hash aggregate over integers, and a semi-join of raw on them); only
    candidate rows are read again from the sources, with their exact
    span_id, to be ranked.
    """
    con.execute(
        f"create temp table dup_hashes as select _span_hash from {KEYS_TABLE} "
        "where _ok group by _span_hash having count(*) > 1"
    )
    raw_rows = con.execute(f"select count(*) from {RAW_SPANS_TABLE}").fetchone()[0]
    raw_filter = f"hash(r.span_id) in (select _span_hash from {KEYS_TABLE} where _ok)" if raw_rows else "false"
    con.execute(
        f"""create temp table raw_hits as
        with loads as (
            select source_file, loaded_at, max(file_mtime_ns) as mtime_ns
            from {LEDGER_TABLE} where status = 'loaded' group by all
        )
        select r.span_id, {_content_hash('r.')} as _h, r._source_file as rel, r._source_row as row_no,
            coalesce(l.mtime_ns, 0) as mtime_ns
        from {RAW_SPANS_TABLE} r
        left join loads l on l.source_file = r._source_file and l.loaded_at = r._loaded_at
        where {raw_filter}"""
    )
    n_dup, n_hits = con.execute("select (select count(*) from dup_hashes), (select count(*) from raw_hits)").fetchone()
    if not n_dup and not n_hits:
        return False
    con.execute(
        f"""create temp table outcomes as
        with candidate_hashes as (
            select _span_hash as h from dup_hashes union select hash(span_id) from raw_hits
        ),
        contenders as (
            select b._file_id, b._source_row, b._partition_day, b.span_id, {_content_hash('b.')} as _h,
                f.mtime_ns, f.rel, 1 as generation, b._source_row as row_no, false as existing
            from ({rows_sql}) b join files f using (_file_id)
            where b._ok and {due} and hash(b.span_id) in (select h from candidate_hashes)
            union all
            select null, null, null, span_id, _h, mtime_ns, rel, 0, row_no, true from raw_hits
        ),
        ranked as (
            select *,
                row_number() over w as rk,
                first_value(_h) over w as winner_h,
                max(case when existing then _h end) over (partition by span_id) as existing_h,
                bool_or(existing) over (partition by span_id) as has_existing
            from contenders
            window w as (partition by span_id order by mtime_ns desc, rel desc, generation desc, row_no desc)
        )
        select _file_id, _source_row, _partition_day, span_id,
            case when rk = 1 and not has_existing then 'insert'
                 when rk = 1 and _h = existing_h then 'duplicate'
                 when rk = 1 then 'replace'
                 when _h = winner_h then 'duplicate'
                 else 'stale' end as outcome
        from ranked where not existing"""
    )
    return True


# Enumerated fields: a value outside the enumeration could be any text, so
# raw_record shows it only when it is one of the known values.
_ENUMERATIONS = {"operation": OPERATIONS, "status": STATUSES, "service_tier": SERVICE_TIERS}


def _recorded(column: str) -> str:
    """The value raw_record keeps of a column of a failing row."""
    if column in _ENUMERATIONS:
        return f"case when {column} is null or {column} in {in_list(_ENUMERATIONS[column])} then {column} else '(value not shown)' end"
    return column


def _insert_quarantine(
    con, rules: list[Rule], ts: str, rows_sql: str, only_due: bool, file_ids: list[int], options_line_limit: int
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
            where not b._ok and b._file_id in ({', '.join(map(str, file_ids))})
                and {_due_sql(only_due, 'coalesce(b._partition_day, fb.fallback_day)')}
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
                 then rel || ': line ' || _source_line::VARCHAR || ': the line is longer than {options_line_limit} bytes '
                      || '(AGENTLEDGER_INGEST_MAX_LINE_BYTES; quarantined without its text)'
                 when _malformed is not null
                 then rel || ': line ' || coalesce(_source_line::VARCHAR, '?') || ': ' || _malformed
                      || '; expected one readable record per line'
                 else rel || ': row ' || coalesce(_source_row::VARCHAR, '?')
                      || coalesce(' (line ' || _source_line::VARCHAR || ')', '')
                      || ', field ' || fails[1].field || ': expected ' || fails[1].expected
                      || ', got ' || {quotable_value_sql('fails[1].field', 'fails[1].got')} end,
            case when line_rule is not null then [line_rule]
                 when _malformed is not null then ['malformed_record']
                 else list_transform(fails, lambda x: x.rule) end,
            case when _malformed is null then {record} end,
            {ts}
        from described"""
    )


def _insert_ledger(con, plans, todo, skipped, summary, start, end, run_ts, counts) -> None:
    by_id = {p.file_id: p for p in plans}
    entries = []
    for fid, days in todo.items():
        plan = by_id[fid]
        if plan.error:
            summary.files_quarantined += 1
            day = days[0]
            if plan.fmt and plan.fmt != "unknown":
                message = f"{plan.file.rel}: cannot be parsed as {plan.fmt}: {plan.error}"
            else:
                message = f"{plan.file.rel}: not read: {plan.error}"
            con.execute(
                f"insert into {QUARANTINE_TABLE} values (?, null, null, ?, ?, ?, ?, null, ?, [?], null, ?)",
                [plan.file.rel, plan.fmt, plan.checksum, day, plan.error_rule, message, plan.error_rule, run_ts],
            )
            status = CHANGED_STATUS if plan.changed else "unparseable"
            entries.append((plan, day, 0, 0, 0, 0, 0, status, message))
            summary.per_day.setdefault(day, DayCounts()).files += 1
            continue
        summary.files_loaded += 1
        for day in days:
            read, loaded, dups, quarantined, replaced = counts.get((fid, day), (0, 0, 0, 0, 0))
            if read != loaded + quarantined + dups:
                raise RuntimeError(
                    f"{plan.file.rel} ({day}): {read} rows read but {loaded} loaded + {quarantined} quarantined "
                    f"+ {dups} duplicates; nothing was written"
                )
            entries.append((plan, day, read, loaded, quarantined, dups, replaced, "loaded", None if read else "no rows"))
            dc = summary.per_day.setdefault(day, DayCounts())
            dc.files += 1
            dc.rows_read += read
            dc.rows_loaded += loaded
            dc.rows_quarantined += quarantined
            dc.duplicates_skipped += dups
            dc.rows_replaced += replaced
            summary.rows_read += read
            summary.rows_loaded += loaded
            summary.rows_quarantined += quarantined
            summary.duplicates_skipped += dups
            summary.rows_replaced += replaced
    for fid, days in skipped.items():
        for day in days:
            entries.append((by_id[fid], day, 0, 0, 0, 0, 0, "skipped_unchanged", None))
    if entries:
        _insert_rows(
            con,
            LEDGER_TABLE,
            [
                (
                    p.file.rel, p.checksum, p.file.size, p.file.mtime_ns, p.fmt or "unknown", day, start, end,
                    read, loaded, quarantined, dups, replaced, status, message, run_ts,
                )
                for p, day, read, loaded, quarantined, dups, replaced, status, message in entries
            ],
        )


def _insert_manifest(con, plans, run_ts) -> None:
    stale = [p for p in plans if not p.manifest_fresh and p.days is not None and not p.changed]
    if not stale:
        return
    con.execute("create or replace temp table _rescanned (source_file VARCHAR)")
    _insert_rows(con, "_rescanned", [(p.file.rel,) for p in stale])
    con.execute(f"delete from {MANIFEST_TABLE} where source_file in (select source_file from _rescanned)")
    _insert_rows(
        con,
        MANIFEST_TABLE,
        [
            (p.file.rel, p.checksum, p.file.size, p.file.mtime_ns, p.fmt or "unknown", day, rows, run_ts)
            for p in stale
            for day, rows in sorted(p.days.items())
        ],
    )


def pending_days(settings: Settings) -> dict[date, list[str]]:
    """Partition days touched by landing files (new, changed or late) not yet loaded.

    Reads the warehouse read-only and briefly; files it has not seen before
    are read in memory (only their start times) to learn their days.
    """
    options = load_ingest_options()
    rules = build_rules(options, _now())
    state = _State({}, {}, set())
    if settings.warehouse_path.exists():
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            state = _read_state(con)
        finally:
            con.close()
    pending: dict[date, list[str]] = defaultdict(list)
    plans = []
    for i, f in enumerate(discover(settings.landing_dir, allow_symlinks=options.limits.allow_symlinks), start=1):
        plan = _plan(f, state)
        plan.file_id = i
        plans.append(plan)
    unknown = [p for p in plans if p.days is None]
    if unknown:
        scratch = duckdb.connect()
        workdir = _private_workdir(None)
        try:
            configure(scratch, options)
            _create_run_tables(scratch)
            _stage_all(scratch, unknown, options, rules, settings.user_id_salt, _Sources(), workdir)
        finally:
            scratch.close()
            shutil.rmtree(workdir, ignore_errors=True)
    for plan in plans:
        for day in plan.days or {}:
            if (plan.checksum, day) not in state.done:
                pending[day].append(plan.file.rel)
    return {d: sorted(v) for d, v in sorted(pending.items())}
