"""Read landing files into the run's tables: the rows of a run, their keys and their days.

Text files are parsed into the table `batch` (several at a time, one cursor
each); Parquet files stay where they are, as SQL sources over read_parquet.
Every staged row also gets one narrow key row (`batch_keys`, see
typed_rows.keys_insert_sql), from which the run learns each file's rows per
day, span_id collisions and which files have failing rows, without keeping
the rows themselves. A file that cannot be read is quarantined whole (its
plan gets `error`) and the run goes on.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from orchestration.ingest.landing import (
    FileRejected,
    LandingFile,
    UnrecognisedFormat,
    detect_format,
    is_gzip,
    open_decompressed,
    path_day_hint,
    scan_text,
    write_clean_copy,
)
from orchestration.ingest.options import IngestOptions
from orchestration.ingest.otlp_proto import OtlpFormatError, ProtoFileTooLarge, convert_proto_file
from orchestration.ingest.plan import FilePlan, fallback_day
from orchestration.ingest.readers import (
    STAGE_FILES_TABLE,
    check_csv_header,
    parquet_group_query,
    parquet_needs_single_read,
    parquet_schema,
    source_query,
)
from orchestration.ingest.rules import Rule
from orchestration.ingest.tables import insert_rows
from orchestration.ingest.typed_rows import (
    BATCH_TABLE,
    KEYS_TABLE,
    STAGE_DATABASE,
    batch_ddl,
    keys_ddl,
    keys_insert_sql,
    typed_rows_sql,
)


@dataclass(frozen=True)
class StageContext:
    """What reading any file of the run needs: its options, rules, salt and private folder."""

    options: IngestOptions
    rules: list[Rule]
    salt: str
    workdir: Path


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


def _fail(con, plan: FilePlan, exc: BaseException) -> None:
    """Quarantine the file whole: forget its staged rows, record why, and give it its fallback day."""
    con.execute(f"delete from {BATCH_TABLE} where _file_id = ?", [plan.file_id])
    plan.fmt = plan.fmt or "unknown"
    plan.error_rule, plan.error = _describe_failure(exc)
    plan.days = {fallback_day(plan.file): 0}


def _changed_since_listed(f: LandingFile) -> bool:
    try:
        st = os.stat(f.path)
    except OSError:
        return True
    return st.st_size != f.size or st.st_mtime_ns != f.mtime_ns


def reader_format(fmt: str) -> str:
    """The format a file's rows are read in: a Collector proto file is read as the OTLP JSON lines it becomes."""
    return "otlp_jsonl" if fmt == "otlp_proto" else fmt


def _proto_as_json_lines(plan: FilePlan, options: IngestOptions, workdir: Path) -> Path:
    """A Collector `format: proto` file converted to OTLP JSON lines (content removed) in the run's private folder.

    DuckDB has no protobuf reader, so the frames are parsed with the official
    opentelemetry-proto classes, the one step of a load done per message in Python.
    """
    target = workdir / f"f{plan.file_id}.from_proto.jsonl"
    try:
        with open_decompressed(plan.file.path) as stream:
            convert_proto_file(
                stream, plan.file.rel, target, options.limits.max_line_bytes, options.limits.max_decompressed_bytes
            )
    except ProtoFileTooLarge as exc:
        raise FileRejected("decompressed_too_large", str(exc)) from exc
    except OtlpFormatError as exc:
        raise FileRejected("unparseable_file", str(exc)) from exc
    return target


def read_path(plan: FilePlan, options: IngestOptions, workdir: Path) -> Path:
    """The path a text file's reader reads: the file itself, or a cleaned copy
    (decompressed, BOM dropped, unreadable lines replaced, or converted from
    protobuf) in the run's private folder when the pre-pass found lines that
    must be quarantined one by one. Raises FileRejected for a whole-file limit."""
    fmt = reader_format(plan.fmt)
    path = _proto_as_json_lines(plan, options, workdir) if plan.fmt == "otlp_proto" else plan.file.path
    ext = "csv" if fmt == "csv" else "jsonl"
    if fmt == "csv":
        check_csv_header(path, options.limits)  # before any line is rewritten
    unpacked = workdir / f"f{plan.file_id}.unpacked.{ext}" if is_gzip(path) else None
    scan = scan_text(path, fmt, options.limits, copy_to=unpacked)
    source = unpacked or path
    if not scan.needs_copy(fmt):
        return source
    copy = workdir / f"f{plan.file_id}.{ext}"
    plan.line_issues = write_clean_copy(source, copy, fmt, options.limits)
    if unpacked is not None:
        unpacked.unlink()
    return copy


@dataclass
class Source:
    """One relation of staged rows and the files whose rows it holds."""

    sql: str  # a relation with the `batch` layout
    file_ids: set[int]


@dataclass
class Sources:
    """Where a run's staged rows are read from: SQL relations with the `batch` layout.

    Text files are materialised in the table `batch` (parsing them is
    the expensive part, and their line numbers follow one scan). Parquet
    files are not: each group of them is a `typed_rows_sql` query over
    `read_parquet`, evaluated again by each statement that needs the rows,
    because decoding Parquet is cheap and copying 16M typed rows into a temp
    table (and reading them back) cost more than the whole final insert.
    """

    parquet: list[Source] = field(default_factory=list)
    text_file_ids: set[int] = field(default_factory=set)

    def _all(self) -> list[Source]:
        batch = [Source(f"select * from {BATCH_TABLE}", self.text_file_ids)] if self.text_file_ids else []
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


def create_run_tables(con) -> None:
    """The temp tables a run stages into (see Sources and keys_ddl)."""
    con.execute(f"attach ':memory:' as {STAGE_DATABASE}")
    con.execute(batch_ddl())
    con.execute(keys_ddl())
    con.execute(f"create temp table {STAGE_FILES_TABLE} (_stage_path VARCHAR, _file_id INTEGER, _day_hint DATE)")
    con.execute("create temp table _day_fallbacks (_file_id INTEGER, fallback_day DATE)")
    # Lines the pre-pass replaced (not UTF-8, too long): their quarantine rule.
    con.execute("create temp table _line_issues (_file_id INTEGER, line BIGINT, rule VARCHAR)")


def _stage_one(con, plan: FilePlan, ctx: StageContext) -> bool:
    """Append one file's rows to the `batch` table; False (and plan.error) when it cannot be read.

    Any exception while reading, decompressing or staging the file
    quarantines that file alone. The caller turns preserve_insertion_order
    on: line and record numbers of text formats follow scan order.
    """
    f = plan.file
    options = ctx.options
    try:
        path = f.path if plan.fmt == "parquet" else read_path(plan, options, ctx.workdir)
        query = source_query(
            con, path, reader_format(plan.fmt), options.mapping, tag=str(plan.file_id), limits=options.limits
        )
        sql = typed_rows_sql(
            query,
            salt=ctx.salt,
            rules=ctx.rules,
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


def _stage_text_files(con, plans: list[FilePlan], ctx: StageContext) -> list[FilePlan]:
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
        workers = min(len(plans), max(1, int(ctx.options.threads)))
        if workers == 1:
            readable = [_stage_one(con, p, ctx) for p in plans]
        else:
            local = threading.local()
            cursors: list[duckdb.DuckDBPyConnection] = []

            def stage(plan: FilePlan) -> bool:
                if not hasattr(local, "cursor"):
                    local.cursor = con.cursor()
                    cursors.append(local.cursor)
                return _stage_one(local.cursor, plan, ctx)

            try:
                with ThreadPoolExecutor(workers) as pool:
                    readable = list(pool.map(stage, plans))
            finally:
                for cursor in cursors:
                    cursor.close()
    finally:
        con.execute("set preserve_insertion_order = false")
    return [p for p, ok in zip(plans, readable) if ok]


def _add_parquet_source(con, plans: list[FilePlan], schema, ctx: StageContext, sources: Sources) -> None:
    """Register Parquet files of one schema as one source and record their keys (one scan of all of them).

    Raises (leaving nothing behind) when any of the files cannot be read.
    """
    ids = ", ".join(str(p.file_id) for p in plans)
    insert_rows(con, STAGE_FILES_TABLE, [(str(p.file.path), p.file_id, path_day_hint(p.file.rel)) for p in plans])
    try:
        relation = typed_rows_sql(
            parquet_group_query([p.file.path for p in plans], schema),
            salt=ctx.salt,
            rules=ctx.rules,
            limits=ctx.options.limits,
        )
        con.execute(keys_insert_sql(relation))
    except BaseException:
        con.execute(f"delete from {STAGE_FILES_TABLE} where _file_id in ({ids})")
        raise
    sources.parquet.append(Source(relation, {p.file_id for p in plans}))


def stage_all(con, plans: list[FilePlan], ctx: StageContext, sources: Sources) -> None:
    """Make the rows of `plans` readable from `sources`, record their keys and learn each file's rows per day.

    Text files are staged into `batch` file by file (their line numbers come
    from the order of one file's scan). Parquet files sharing a schema are
    one source, read in one statement; if that statement fails, they are
    retried one by one so that a broken file is quarantined alone. Sets
    plan.fmt and plan.days, or plan.error for a file that cannot be read.
    """
    parquet_groups: dict[tuple, list[FilePlan]] = defaultdict(list)
    text_plans: list[FilePlan] = []
    for plan in plans:
        if plan.error:
            continue
        try:
            if not plan.fmt or plan.fmt == "unknown":
                plan.fmt = detect_format(plan.file.path, ctx.options.limits)
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
    staged = _stage_text_files(con, text_plans, ctx)
    text_ids = [p.file_id for p in staged]
    if text_ids:
        sources.text_file_ids.update(text_ids)
        con.execute(keys_insert_sql(f"select * from {BATCH_TABLE} where _file_id in ({', '.join(map(str, text_ids))})"))
    for schema, group in parquet_groups.items():
        if len(group) > 1:
            try:
                _add_parquet_source(con, group, schema, ctx, sources)
                staged.extend(group)
                continue
            except Exception:
                pass
        for plan in group:
            try:
                _add_parquet_source(con, [plan], schema, ctx, sources)
                staged.append(plan)
            except Exception as exc:
                _fail(con, plan, exc)
    # A file whose size or modification time moved while it was read holds
    # rows of neither version for sure: none are loaded, and the ledger says
    # so (not "done": the next run reads the new version).
    changed = [p for p in staged if _changed_since_listed(p.file)]
    for plan in changed:
        _fail(
            con,
            plan,
            FileRejected(
                "file_changed_during_read", "the file changed while it was read; it is read again on the next run"
            ),
        )
        plan.changed = True
        con.execute(f"delete from {KEYS_TABLE} where _file_id = ?", [plan.file_id])
    staged = [p for p in staged if not p.changed]
    issues = [(p.file_id, i.line, i.rule) for p in staged for i in p.line_issues]
    if issues:
        insert_rows(con, "_line_issues", issues)
    if staged:
        _learn_days(con, staged)


def _learn_days(con, staged: list[FilePlan]) -> None:
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
            plan.days = {fallback_day(plan.file): 0}
            continue
        if malformed == total:
            # Not one record could be read: quarantine the file as a whole.
            # (_malformed holds the loader's own reasons, never the line's text.)
            first = next(r[3] for r in rows if r[3])
            unreadable.append(fid)
            plan.error = f"no record could be read ({malformed} tried; first: {first})"
            plan.days = {fallback_day(plan.file): 0}
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
        insert_rows(con, "_day_fallbacks", fallbacks)
        con.execute(
            f"update {KEYS_TABLE} set _partition_day = d.fallback_day from _day_fallbacks d "
            f"where {KEYS_TABLE}._file_id = d._file_id and {KEYS_TABLE}._partition_day is null"
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


def _stage_csv_rejects(con, plan: FilePlan, rejects: str) -> None:
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


def private_workdir(parent: Path | None) -> Path:
    """A folder only this run uses (mode 0700) for cleaned copies of text files."""
    base = None
    if parent is not None:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            base = str(parent)
        except OSError:
            base = None
    return Path(tempfile.mkdtemp(prefix=".ingest-work-", dir=base))


def drop_keys_not_due(con, staged: list[FilePlan], load: dict[int, list[date]]) -> bool:
    """Forget staged rows of (file, day) pairs this run does not load; True when there were any.

    The keys of those rows are deleted (one statement); the sources still
    hold them, so the statements that read rows from the sources then keep
    only the pairs listed in the temp table `_due`.
    """
    if all(
        not any(plan.days.values()) or {d for d, n in plan.days.items() if n} <= set(load.get(plan.file_id, ()))
        for plan in staged
    ):
        return False
    con.execute("create or replace temp table _due (_file_id INTEGER, day DATE)")
    insert_rows(con, "_due", [(fid, d) for fid, days in load.items() for d in days])
    con.execute(
        f"delete from {KEYS_TABLE} k where not exists "
        "(select 1 from _due d where d._file_id = k._file_id and d.day = k._partition_day)"
    )
    return True


def due_sql(only_due: bool, day: str = "b._partition_day") -> str:
    """SQL condition keeping source rows `b` of the (file, day) pairs this run loads."""
    if not only_due:
        return "true"
    return f"exists (select 1 from _due d where d._file_id = b._file_id and d.day = {day})"
