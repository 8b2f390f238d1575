"""The ledger's arithmetic: rows read, loaded, quarantined, duplicated and replaced per (file, day).

For every file and day a run processes, rows_read = rows_loaded +
rows_quarantined + duplicates_skipped, checked before anything is
committed. The counts also feed the run's IngestionSummary; the landing
manifest records what each scanned file version holds per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from orchestration.contract import RAW_SPANS_TABLE
from orchestration.ingest.plan import CHANGED_STATUS, FilePlan, RunDays, Window
from orchestration.ingest.quarantine import unreadable_file_message
from orchestration.ingest.tables import LEDGER_TABLE, MANIFEST_TABLE, insert_rows
from orchestration.ingest.typed_rows import KEYS_TABLE


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
class FileDayCounts:
    """What became of one file's rows of one day in this run."""

    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    replaced: int = 0


@dataclass(frozen=True)
class LedgerEntry:
    """One row of raw.ingestion_ledger (without the run-wide window and timestamp)."""

    plan: FilePlan
    day: date
    counts: FileDayCounts
    status: str
    message: str | None


def count_outcomes(con, ts: str, has_outcomes: bool) -> dict[tuple[int, date], FileDayCounts]:
    """Counts per (file id, day), quarantined left at 0 (see `add_quarantined`).

    Read from the keys; loaded from the raw rows this run wrote (stamped
    with its timestamp `ts`; a loaded row's partition day is its start's
    day); duplicates and replacements from the temp table `outcomes`.
    """
    counts: dict[tuple[int, date], FileDayCounts] = {}
    for fid, day, n in con.execute(
        f"select _file_id, _partition_day, count(*) from {KEYS_TABLE} group by all"
    ).fetchall():
        counts[(fid, day)] = FileDayCounts(read=n)
    for fid, day, n in con.execute(
        f"""select f._file_id, r.started_at::DATE, count(*) from {RAW_SPANS_TABLE} r join files f on f.rel = r._source_file
        where r._loaded_at = {ts} group by all"""
    ).fetchall():
        counts.setdefault((fid, day), FileDayCounts()).loaded = n
    if has_outcomes:
        for fid, day, dups, replaced in con.execute(
            """select _file_id, _partition_day, count(*) filter (where outcome in ('duplicate', 'stale')),
                count(*) filter (where outcome = 'replace')
            from outcomes group by all"""
        ).fetchall():
            entry = counts.setdefault((fid, day), FileDayCounts())
            entry.duplicates, entry.replaced = dups, replaced
    return counts


def add_quarantined(counts: dict[tuple[int, date], FileDayCounts], quarantined: dict[tuple[int, date], int]) -> None:
    for key, n in quarantined.items():
        counts.setdefault(key, FileDayCounts()).quarantined = n


def ledger_entries(
    plans: list[FilePlan], days: RunDays, counts: dict[tuple[int, date], FileDayCounts], summary: IngestionSummary
) -> list[LedgerEntry]:
    """The ledger rows of a run, its totals added to `summary`; raises when a file's rows do not add up.

    A file that could not be read is one `unparseable` row (or
    `changed_during_read`) on its first due day; every other file one row
    per due day, and one `skipped_unchanged` row per day already loaded.
    """
    by_id = {p.file_id: p for p in plans}
    entries = []
    for fid, due in days.load.items():
        plan = by_id[fid]
        if plan.error:
            summary.files_quarantined += 1
            day = due[0]
            status = CHANGED_STATUS if plan.changed else "unparseable"
            entries.append(LedgerEntry(plan, day, FileDayCounts(), status, unreadable_file_message(plan)))
            summary.per_day.setdefault(day, DayCounts()).files += 1
            continue
        summary.files_loaded += 1
        for day in due:
            c = counts.get((fid, day), FileDayCounts())
            if c.read != c.loaded + c.quarantined + c.duplicates:
                raise RuntimeError(
                    f"{plan.file.rel} ({day}): {c.read} rows read but {c.loaded} loaded + {c.quarantined} quarantined "
                    f"+ {c.duplicates} duplicates; nothing was written"
                )
            entries.append(LedgerEntry(plan, day, c, "loaded", None if c.read else "no rows"))
            _add(summary.per_day.setdefault(day, DayCounts()), c, files=1)
            _add(summary, c)
    for fid, skipped in days.skipped.items():
        for day in skipped:
            entries.append(LedgerEntry(by_id[fid], day, FileDayCounts(), "skipped_unchanged", None))
    return entries


def _add(totals: DayCounts | IngestionSummary, c: FileDayCounts, files: int = 0) -> None:
    if isinstance(totals, DayCounts):
        totals.files += files
    totals.rows_read += c.read
    totals.rows_loaded += c.loaded
    totals.rows_quarantined += c.quarantined
    totals.duplicates_skipped += c.duplicates
    totals.rows_replaced += c.replaced


def insert_ledger(con, entries: list[LedgerEntry], window: Window, run_ts: datetime) -> None:
    insert_rows(
        con,
        LEDGER_TABLE,
        [
            (
                e.plan.file.rel,
                e.plan.checksum,
                e.plan.file.size,
                e.plan.file.mtime_ns,
                e.plan.fmt or "unknown",
                e.day,
                window.start,
                window.end,
                e.counts.read,
                e.counts.loaded,
                e.counts.quarantined,
                e.counts.duplicates,
                e.counts.replaced,
                e.status,
                e.message,
                run_ts,
            )
            for e in entries
        ],
    )


def insert_manifest(con, plans: list[FilePlan], run_ts: datetime) -> None:
    """Record the days of every file version scanned in this run (replacing its path's older versions)."""
    stale = [p for p in plans if not p.manifest_fresh and p.days is not None and not p.changed]
    if not stale:
        return
    con.execute("create or replace temp table _rescanned (source_file VARCHAR)")
    insert_rows(con, "_rescanned", [(p.file.rel,) for p in stale])
    con.execute(f"delete from {MANIFEST_TABLE} where source_file in (select source_file from _rescanned)")
    insert_rows(
        con,
        MANIFEST_TABLE,
        [
            (p.file.rel, p.checksum, p.file.size, p.file.mtime_ns, p.fmt or "unknown", day, rows, run_ts)
            for p in stale
            for day, rows in sorted(p.days.items())
        ],
    )
