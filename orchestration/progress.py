"""Progress, not logs: run a Dagster job in process, print one line per stage, keep the logs in a file.

Dagster's console logger, dagster-dbt's streamed dbt output and the report
build's npm output all write to the process's stdout and stderr. While a job
runs, both file descriptors point at a per-run log file (so child processes
such as dbt and npm are caught too), and a thread follows the run's events in
the Dagster instance (`get_records_for_run`, the same event stream the UI
shows) and writes to the terminal:

    ingest        done    14.2 s  300,000 rows loaded, 0 quarantined (180 files)
    dbt           done    88.0 s  52 tables, 411 checks passed

A failure prints the failing step, the first line of its error and the log
path. `verbose=True` leaves stdout and stderr alone and streams everything.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

# What each asset group is called on the terminal, in pipeline order.
STAGE_NAMES = {
    "generate": "generate",
    "ingest": "ingest",
    "warehouse": "dbt",
    "forecast": "signals",
    "signals": "signals",
    "publish": "publish",
    "reports": "report site",
}
_FOLLOWED = (
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
)


def log_path_for(logs_dir: Path, label: str) -> Path:
    logs_dir.mkdir(parents=True, exist_ok=True)
    return logs_dir / f"{label}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"


def stage_by_step(defs: dg.Definitions) -> dict[str, str]:
    """Op name -> stage name, from each asset's group (the synthetic landing files are `generate`).

    Steps of no asset (asset checks run in their own step) are not listed:
    they count towards the stage that is running.
    """
    stages: dict[str, str] = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        groups = set(assets_def.group_names_by_key.values())
        if not groups:
            continue
        group = sorted(groups)[0]
        if any(key.path[0] == "landing" for key in assets_def.keys):
            group = "generate"
        stages[assets_def.node_def.name] = STAGE_NAMES.get(group, group)
    return stages


@dataclass
class _Stage:
    name: str
    started: float
    materialized: set[str] = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: int = 0
    metadata: dict[str, object] = field(default_factory=dict)

    def detail(self) -> str:
        m = self.metadata
        if self.name == "ingest" and "rows_loaded" in m:
            parts = [
                f"{m['rows_loaded']:,} rows loaded, {m.get('rows_quarantined', 0):,} quarantined "
                f"({m.get('files_seen', 0)} files)"
            ]
        else:
            count = len(self.materialized)
            noun = "model" if self.name == "dbt" else "asset"
            parts = [f"{count} {noun}{'s' if count != 1 else ''}"] if count else []
        if self.checks_passed or self.checks_failed:
            parts.append(
                f"{self.checks_passed} checks passed" + (f", {self.checks_failed} failed" if self.checks_failed else "")
            )
        return ", ".join(parts)


def _first_error_line(error) -> str:
    """The user's own error under Dagster's wrapper: the innermost cause, its first two lines joined."""
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else error.cls_name or "unknown error"


class RunFollower:
    """Follows one run's events and prints a line whenever a stage ends."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, stages: dict[str, str], out: TextIO):
        self.instance = instance
        self.run_id = run_id
        self.stages = stages
        self.out = out
        self.failure: tuple[str, str] | None = None
        self._current: _Stage | None = None
        self._cursor: str | None = None
        self._last_timestamp = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="run-progress", daemon=True)

    def __enter__(self) -> RunFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the events written after the last look
        self._close_stage()

    def _follow(self) -> None:
        while not self._stop.wait(0.5):
            # A failed look is retried at the next tick; the run's own outcome is reported by the caller.
            with contextlib.suppress(Exception):
                self._poll()

    def _poll(self) -> None:
        while True:
            connection = self.instance.get_records_for_run(
                self.run_id, cursor=self._cursor, of_type=set(_FOLLOWED), limit=500
            )
            for record in connection.records:
                self._handle(record.event_log_entry)
            self._cursor = connection.cursor
            if not connection.has_more:
                return

    def _handle(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        step = event.step_key or ""
        stage = self.stages.get(step.split("[")[0])
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            if self._current is None or (stage is not None and self._current.name != stage):
                self._close_stage()
                self._current = _Stage(stage or "checks", entry.timestamp)
                # The stage's name now, the rest of its line when it ends.
                self.out.write(f"  {self._current.name:<12}  ")
                self.out.flush()
        elif self._current is None:
            return
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            self._current.materialized.add(materialization.asset_key.to_user_string())
            for key, value in materialization.metadata.items():
                self._current.metadata[key] = getattr(value, "value", value)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if event.event_specific_data.passed:
                self._current.checks_passed += 1
            else:
                self._current.checks_failed += 1
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.failure = (step, _first_error_line(event.step_failure_data.error))
            self._current.metadata["failed"] = step
        self._last_timestamp = entry.timestamp

    def _close_stage(self) -> None:
        stage, self._current = self._current, None
        if stage is None:
            return
        elapsed = max(self._last_timestamp - stage.started, 0.0)
        status = "FAILED" if "failed" in stage.metadata else "done"
        self.out.write(f"{status:<6}  {elapsed:6.1f} s  {stage.detail()}\n")
        self.out.flush()


@contextmanager
def _output_to(log_path: Path, verbose: bool) -> Iterator[TextIO]:
    """Point fd 1 and 2 at the log file (unless verbose); yield a stream to the real terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if verbose:
        yield sys.stdout
        return
    saved_out, saved_err = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    with log_path.open("ab") as log, log_path.open("a", buffering=1) as log_text:
        # Child processes write to the file descriptors; Python code may hold a
        # replaced sys.stdout (a test runner's, for one): both point at the log.
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log_text
        try:
            yield terminal
        finally:
            sys.stdout, sys.stderr = saved_streams
            log_text.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    failure: tuple[str, str] | None


def run_with_progress(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    stages: dict[str, str],
    log_path: Path,
    *,
    verbose: bool = False,
    tags: dict[str, str] | None = None,
    run_config: dict | None = None,
) -> RunOutcome:
    """Execute `job` in process; one line per stage on the terminal, everything else in `log_path`."""
    run_id = str(uuid.uuid4())
    with _output_to(log_path, verbose) as terminal:
        with RunFollower(instance, run_id, stages, terminal) as follower:
            result = job.execute_in_process(
                instance=instance, run_config=run_config, tags=tags, run_id=run_id, raise_on_error=False
            )
    return RunOutcome(result.success, run_id, follower.failure)


def elapsed_text(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
