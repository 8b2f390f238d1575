"""Wall time, CPU time and peak RSS of a child process and everything it starts.

wait4() counts only the children a process waits for; Spark's JVM (started by
dbt, never waited for) and DuckDB's threads in a grandchild would be missed, so
the process tree is sampled from /proc while the child runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def process_tree(root: int) -> dict[int, tuple[int, int]]:
    """CPU ticks (user + system) and resident pages of `root` and every descendant, from /proc."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state, ppid, ..., utime (12th), stime (13th), ..., rss (22nd)
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]))
    tree, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in stats:
            tree[pid] = stats[pid][1:]
            frontier += [child for child, (ppid, _, _) in stats.items() if ppid == pid]
    return tree


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    what: str,
    on_tick: Callable[[], object] | None = None,
) -> Measured:
    """Run `command` to completion with its output in `log`; raise naming `what` and the log if it fails.

    `on_tick` is called at every sample (every 0.5 s), e.g. to follow a folder's size.
    """
    with log.open("w") as out:
        began = time.perf_counter()
        child = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        ticks: dict[int, int] = {}
        peak_pages = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            tree = process_tree(child.pid)
            peak_pages = max(peak_pages, sum(pages for _, pages in tree.values()))
            ticks.update({p: max(ticks.get(p, 0), cpu) for p, (cpu, _) in tree.items()})
            if on_tick is not None:
                on_tick()
            time.sleep(0.5)
        seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{what} failed: see {log}")
    cpu = max(sum(ticks.values()) / TICKS, usage.ru_utime + usage.ru_stime)
    return Measured(seconds, cpu, max(peak_pages * PAGE_MB, usage.ru_maxrss / 1024))


def dbt_build_command(work: Path, name: str) -> list[str]:
    """`dbt build` as production runs it (no unit tests), its target and log folders under `work/<name>-*`.

    Run it with cwd DBT_PROJECT_DIR and the window, if any, in its environment.
    """
    from orchestration.dbt_invocation import PRODUCTION_BUILD
    from orchestration.settings import DBT_PROJECT_DIR

    return [
        str(Path(sys.executable).parent / "dbt"), "build", *PRODUCTION_BUILD,
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work / f"{name}-target"), "--log-path", str(work / f"{name}-logs"),
    ]  # fmt: skip
