"""Run the pipeline over a range of days from the shell, recorded in the Dagster instance.

`python -m orchestration.run_range --start 2026-10-01 --end 2026-10-31`
materialises the days' partitions and everything downstream in one run, the
same run the landing sensor or a UI backfill would launch. `--no-report-site`
stops after publishing (for scripted checks that do not need the site).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

PIPELINE_JOB = "agentledger_pipeline"
REPORT_SITE_KEY = "reports/site"
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run_range(first: dt.date, last: dt.date, *, report_site: bool = True, tags: dict[str, str] | None = None) -> bool:
    """One in-process run of the pipeline job over [first, last]; True on success."""
    import dagster as dg

    from orchestration.defs.automation.definitions import range_tags
    from orchestration.definitions import defs

    run_tags = {**range_tags(first, last), **(tags or {})}
    instance = dg.DagsterInstance.get()
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
    print("Run succeeded." if ok else "Run failed; see it in the Dagster UI (make dev).", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
