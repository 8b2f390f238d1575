"""What each landing file needs from a run: its checksum, its days, and which of them are due.

A file's days come from the landing manifest when its size and modification
time (or its checksum) match a version already scanned; otherwise they are
unknown until the file is read (see `batch.stage_all`). A (file content,
day) pair is done once the ledger records it as loaded or unparseable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import duckdb

from orchestration.ingest.landing import LandingFile, LineIssue, path_day_hint, sha256_file
from orchestration.ingest.tables import LEDGER_TABLE, MANIFEST_TABLE, table_exists

DONE_STATUSES = ("loaded", "unparseable")
# Ledger status of a file that changed while it was read: not done, read again next run.
CHANGED_STATUS = "changed_during_read"


@dataclass
class ManifestEntry:
    """One scanned version of a landing file, as raw.landing_manifest holds it."""

    checksum: str
    size: int
    mtime_ns: int
    fmt: str
    days: dict[date, int]


@dataclass
class FilePlan:
    """One landing file in this run: what is known of it, and what reading it found."""

    file: LandingFile
    checksum: str
    fmt: str | None
    days: dict[date, int] | None  # rows per partition day; None until known
    manifest_fresh: bool  # the manifest already describes this version
    file_id: int = 0
    error: str | None = None  # why the whole file is quarantined (never quotes its content)
    error_rule: str = "unparseable_file"
    changed: bool = False  # the file changed while it was read
    line_issues: list[LineIssue] = field(default_factory=list)


@dataclass
class LoadState:
    """What the warehouse already knows: the manifest by path and by checksum, and the done pairs."""

    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    by_checksum: dict[str, ManifestEntry] = field(default_factory=dict)
    done: set[tuple[str, date]] = field(default_factory=set)


@dataclass(frozen=True)
class Window:
    """The run's inclusive partition days (None: unbounded) and whether done pairs are reloaded."""

    start: date | None
    end: date | None
    force: bool = False

    def contains(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def due(self, plan: FilePlan, state: LoadState) -> list[date]:
        """The file's days in the window that this run loads."""
        return [
            d
            for d in sorted(plan.days or {})
            if self.contains(d) and (self.force or (plan.checksum, d) not in state.done)
        ]


@dataclass
class RunDays:
    """Which days of which files (by file id) a run loads, and which it records as skipped."""

    load: dict[int, list[date]] = field(default_factory=dict)
    skipped: dict[int, list[date]] = field(default_factory=dict)
    files_seen: int = 0
    files_skipped_unchanged: int = 0


def read_state(con: duckdb.DuckDBPyConnection | None) -> LoadState:
    state = LoadState()
    if con is None:
        return state
    if table_exists(con, MANIFEST_TABLE):
        for rel, checksum, size, mtime_ns, fmt, day, rows in con.execute(
            f"select source_file, checksum, size_bytes, file_mtime_ns, source_format, partition_day, rows from {MANIFEST_TABLE}"
        ).fetchall():
            m = state.manifest.setdefault(rel, ManifestEntry(checksum, size, mtime_ns, fmt, {}))
            m.days[day] = rows
            state.by_checksum.setdefault(checksum, m)
    if table_exists(con, LEDGER_TABLE):
        state.done = {
            (c, d)
            for c, d in con.execute(
                f"select distinct checksum, partition_day from {LEDGER_TABLE} where status in {DONE_STATUSES}"
            ).fetchall()
        }
    return state


def fallback_day(f: LandingFile) -> date:
    """The day of a file whose rows give none: the day its path names, else its modification day."""
    return path_day_hint(f.rel) or f.mtime.date()


def _synthetic_checksum(f: LandingFile, what: str) -> str:
    """A stand-in checksum for an entry whose bytes are not read (a symlink
    leading outside, an unreadable file): changes when the entry does."""
    return hashlib.sha256(f"{what}\0{f.rel}\0{f.size}\0{f.mtime_ns}".encode()).hexdigest()


def plan_file(f: LandingFile, state: LoadState) -> FilePlan:
    """The file's checksum, and its format and days when a scanned version tells them."""
    if f.problem:
        rule, message = f.problem
        plan = FilePlan(
            f, _synthetic_checksum(f, rule), "unknown", None, manifest_fresh=False, error=message, error_rule=rule
        )
        plan.days = {fallback_day(f): 0}
        return plan
    m = state.manifest.get(f.rel)
    if m and m.size == f.size and m.mtime_ns == f.mtime_ns:
        return FilePlan(f, m.checksum, m.fmt, dict(m.days), manifest_fresh=True)
    try:
        checksum = sha256_file(f.path)
    except OSError as exc:
        plan = FilePlan(f, _synthetic_checksum(f, "unreadable"), "unknown", None, manifest_fresh=False)
        plan.error = f"the file cannot be read ({type(exc).__name__})"
        plan.days = {fallback_day(f): 0}
        return plan
    if m and m.checksum == checksum:
        return FilePlan(f, checksum, m.fmt, dict(m.days), manifest_fresh=False)
    other = state.by_checksum.get(checksum)
    if other:
        return FilePlan(f, checksum, other.fmt, dict(other.days), manifest_fresh=False)
    return FilePlan(f, checksum, None, None, manifest_fresh=False)


def plan_files(files: list[LandingFile], state: LoadState) -> list[FilePlan]:
    """One plan per file, numbered from 1 (the file id of the run's tables)."""
    plans = [plan_file(f, state) for f in files]
    for i, plan in enumerate(plans, start=1):
        plan.file_id = i
    return plans


def select_days(
    plans: list[FilePlan], state: LoadState, window: Window, staged: set[int]
) -> tuple[RunDays, list[FilePlan]]:
    """Days to load per file, from what is known now; and the files that must still be read.

    A file already staged (its days were unknown) is loaded on its due days;
    a file known from the manifest is read only when a day of it is due, and
    its due days are settled after reading (`settle_days`).
    """
    days = RunDays()
    to_read: list[FilePlan] = []
    for plan in plans:
        wanted = sorted(d for d in plan.days if window.contains(d))
        if not wanted:
            continue
        days.files_seen += 1
        needed = [d for d in wanted if window.force or (plan.checksum, d) not in state.done]
        days.skipped[plan.file_id] = [d for d in wanted if d not in needed]
        if not needed:
            days.files_skipped_unchanged += 1
        elif plan.file_id in staged:
            days.load[plan.file_id] = needed
        else:
            to_read.append(plan)
    return days, to_read


def settle_days(days: RunDays, read: list[FilePlan], state: LoadState, window: Window) -> None:
    """Add the due days of files read after `select_days`, from the days reading them found."""
    for plan in read:
        needed = window.due(plan, state)
        if needed:
            days.load[plan.file_id] = needed
