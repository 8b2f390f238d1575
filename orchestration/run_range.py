"""Run the pipeline over a range of days from the shell, recorded in the Dagster instance.

`python -m orchestration.run_range --start 2026-10-01 --end 2026-10-31`
materialises the days' partitions and everything downstream in one run, the
same run the landing sensor or a UI backfill would launch. `--no-report-site`
stops after publishing (for scripted checks that do not need the site).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

PIPELINE_JOB = "agentledger_pipeline"
REPORT_SITE_KEY = "reports/site"
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
PID_TAG = "agentledger/pid"


def reclaim_abandoned_runs(instance) -> list[str]:
    """Fail in-process runs whose process died, and free their concurrency-pool slots.

    A run killed outright (SIGKILL, OOM, power loss) never reports its end: it
    stays STARTED and keeps its slot in the `duckdb_writer` pool, so every later
    run would wait for it forever. `dagster dev`'s daemon notices dead runs it
    launched itself; runs started from this command carry their pid in a tag so
    the next one can tell a live run from a dead one.
    """
    import dagster as dg

    reclaimed = []
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    for run in runs:
        pid = run.tags.get(PID_TAG)
        if pid is None or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, f"process {pid} ended without reporting (killed); slots released")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reclaimed.append(run.run_id)
    return reclaimed


def announce_reclaimed_runs(instance) -> None:
    """reclaim_abandoned_runs, telling the person at the terminal what was released."""
    for run_id in reclaim_abandoned_runs(instance):
        print(f"Run {run_id[:8]} had died without reporting: marked failed, its pool slot released")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_range(first: dt.date, last: dt.date, *, report_site: bool = True, tags: dict[str, str] | None = None) -> bool:
    """One in-process run of the pipeline job over [first, last]; True on success."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.automation.definitions import range_tags
    from orchestration.partitions import daily_partitions

    first_partition = dt.date.fromisoformat(daily_partitions.get_first_partition_key())
    if first < first_partition:
        print(
            f"{first} is before the first daily partition, {first_partition} (the earliest landed day): "
            f"set AGENTLEDGER_PARTITIONS_START={first} (or earlier) and run again",
            file=sys.stderr,
        )
        return False
    run_tags = {**range_tags(first, last), **(tags or {}), PID_TAG: str(os.getpid())}
    instance = dg.DagsterInstance.get()
    announce_reclaimed_runs(instance)
    job = defs.resolve_job_def(PIPELINE_JOB)
    if not report_site:
        selection = job.asset_layer.executable_asset_keys - {dg.AssetKey.from_user_string(REPORT_SITE_KEY)}
        job = job.get_subset(asset_selection=selection)
    result = job.execute_in_process(instance=instance, run_config=CONSOLE_INFO, tags=run_tags, raise_on_error=False)
    return result.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last day (inclusive), YYYY-MM-DD")
    parser.add_argument("--no-report-site", action="store_true", help="skip building the report site")
    args = parser.parse_args(argv)
    if args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    ok = run_range(args.start, args.end, report_site=not args.no_report_site)
    print(
        "Run succeeded." if ok else "Run failed; see it in the Dagster UI (make dev).",
        file=sys.stdout if ok else sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
