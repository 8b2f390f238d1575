"""How the pipeline invokes dbt: the build flags, the partition window's environment, and a runner.

Kept apart from the asset definitions (which read the manifest on import) so
that the tests and the dbt benchmark run dbt exactly as the pipeline does:
the dbt installed beside this interpreter, on the project in dbt_project/
with its own profiles.yml, the window in environment variables and nothing
else taken from the calling shell's window.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

# The dbt of this interpreter's environment, whether or not the venv is on PATH.
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

# Tests that also read models outside a set (e.g. a mart reconciling to the
# fact) run with the set that builds their last parent, not before it exists.
CAUTIOUS_TESTS = ["--indirect-selection", "cautious"]
# Unit tests are for development and CI (`make test` runs them), not every production run.
PRODUCTION_BUILD = ["--exclude-resource-type", "unit_test", *CAUTIOUS_TESTS]

# The run's window reaches dbt in these environment variables, not as
# `--vars`: dbt re-parses the whole project whenever --vars differ from its
# last parse (seconds per invocation, every day), while a variable read only
# at execution leaves partial parsing alone (dbt_project/macros/partition_window.sql).
WINDOW_ENV = ("AGENTLEDGER_WINDOW_MIN_DATE", "AGENTLEDGER_WINDOW_MAX_DATE")

# Each dbt call from Dagster writes its artifacts (manifest, run results,
# compiled SQL: about 8.5 MB) to a folder of its own under the dbt target
# path, named `<asset op>-<run id>-<uuid>`, and dagster-dbt never removes
# them: three a day on the nightly schedule. A week of them is kept for
# debugging a run.
TARGET_RETENTION = dt.timedelta(days=7)


def prune_invocation_targets(target_root: Path, op_names: Iterable[str], now: dt.datetime | None = None) -> list[Path]:
    """Remove the per-invocation folders of `op_names` under `target_root` older than TARGET_RETENTION.

    Only folders named after one of the ops are touched (never dbt's own
    files such as partial_parse.msgpack or another tool's folders), and only
    when their last change is older than the retention, so an invocation still
    running (in this run or another) keeps its folder. Returns what was removed.
    """
    if not target_root.is_dir():
        return []
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - TARGET_RETENTION.total_seconds()
    prefixes = tuple(f"{name}-" for name in op_names)
    removed = []
    for folder in target_root.iterdir():
        is_invocation = folder.is_dir() and not folder.is_symlink() and folder.name.startswith(prefixes)
        if is_invocation and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def window_env(days: tuple[str, str] | None) -> dict[str, str]:
    """The environment variables that give dbt a window of inclusive days (first, last), or none.

    Both are always set, to empty strings for no window, so that a variable
    left in the parent's environment (a shell, an earlier step) never reaches
    a run as its window.
    """
    first, last = days or ("", "")
    return dict(zip(WINDOW_ENV, (first, last), strict=True))


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set environment variables for the block (None unsets one), then restore what was there.

    DbtCliResource.cli() copies os.environ when it is called and starts the
    dbt process before it returns, and takes no environment of its own; so
    the window is set around that call only, and removed right after, so
    that it does not outlive the step in this (long-lived) process. Steps
    that call dbt never overlap: they share a concurrency pool of one.
    """
    previous = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            _set_or_unset(name, value)
        yield
    finally:
        for name, value in previous.items():
            _set_or_unset(name, value)


def _set_or_unset(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class DbtFailed(RuntimeError):
    """A dbt command exited non-zero; the message holds the command and the end of its output."""


@dataclass(frozen=True)
class DbtRun:
    """One finished dbt command: its console output, exit code and the child's resource use."""

    args: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr, interleaved as dbt wrote them
    output_path: Path
    log_dir: Path  # dbt's own debug log (dbt.log) of this label
    target_dir: Path  # manifest, run_results.json and compiled SQL
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float

    def check(self) -> DbtRun:
        """This run, or DbtFailed when dbt exited non-zero."""
        if self.returncode != 0:
            raise DbtFailed(
                f"dbt {' '.join(self.args)} failed (exit {self.returncode}); full output in {self.output_path}:\n"
                f"{self.output[-8000:]}"
            )
        return self


def run_dbt(
    args: Sequence[str],
    warehouse: Path,
    work: Path,
    *,
    window: tuple[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    label: str | None = None,
    check: bool = True,
) -> DbtRun:
    """Run one dbt command on the project against `warehouse`, in a child process, and wait for it.

    Everything dbt writes goes under `work`: artifacts in `work/target`, its
    debug log in `work/logs/<label>`, the console output in
    `work/logs/<label>.out` (a file, not a pipe, so a long run cannot block on
    a full pipe while its resource use is collected). `window` is the run's
    partition window as the pipeline passes it (none by default, whatever the
    calling shell holds); `env` adds variables on top. With `check`, a
    non-zero exit raises DbtFailed.
    """
    label = label or f"dbt-{args[0]}"
    log_dir = work / "logs" / label
    target_dir = work / "target"
    log_dir.mkdir(parents=True, exist_ok=True)
    output_path = work / "logs" / f"{label}.out"
    child_env = {
        **os.environ,
        **window_env(window),
        "AGENTLEDGER_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    command = [
        str(DBT_EXECUTABLE),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(log_dir),
    ]
    began = time.perf_counter()
    with output_path.open("w") as out:
        child = subprocess.Popen(command, env=child_env, cwd=DBT_PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    run = DbtRun(
        args=tuple(args),
        returncode=child.returncode,
        output=output_path.read_text(errors="replace"),
        output_path=output_path,
        log_dir=log_dir,
        target_dir=target_dir,
        seconds=time.perf_counter() - began,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
    )
    return run.check() if check else run
