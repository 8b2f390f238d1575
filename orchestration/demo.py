"""`make demo`: generate the synthetic dataset and run the whole pipeline through Dagster.

Runs are recorded in the Dagster instance under DAGSTER_HOME (the Makefile
points it at <data dir>/dagster_home), so `make dev` shows them afterwards.

The demo's budgets and org mapping (generators/demo_reference/, written for
the generator's workspaces, departments and agents) are installed into
`<data dir>/reference/` first; reference files already there are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import warnings

import duckdb

from generators import GeneratorConfig
from orchestration.demo_rerun import (
    STATE_FILE,
    SYNTHETIC_SUBDIR,
    DemoState,
    RerunPlan,
    demo_window,
    file_listing,
    file_sha256,
    input_fingerprints,
    plan_rerun,
    report_project_checksum,
    site_rebuild_reason,
    unchanged_since,
)
from orchestration.reference import DEMO_REFERENCE_DIR, REFERENCE_FILES, install_reference_files
from orchestration.settings import Settings, load_settings

DATASET_MARKER = "demo_dataset.json"


def _reset_if_dataset_changed(settings: Settings, window: dict[str, object]) -> None:
    """The demo's synthetic days move with the calendar; the working file is derived
    from the landing folder, so a new window starts it afresh rather than mixing two
    synthetic histories. The published copy stays until the new run replaces it."""
    marker = settings.data_dir / DATASET_MARKER
    previous = json.loads(marker.read_text()) if marker.exists() else None
    if previous is not None and previous != window and settings.warehouse_path.exists():
        print(f"Synthetic window changed ({previous} -> {window}): rebuilding {settings.warehouse_path.name}")
        settings.warehouse_path.unlink()
        shutil.rmtree(settings.landing_dir / SYNTHETIC_SUBDIR, ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(window))


def _summary(settings: Settings) -> list[str]:
    """Calls, cost, dates and quarantined rows by rule, read from the published copy."""
    conn = duckdb.connect(str(settings.published_warehouse_path), read_only=True)
    try:
        calls, cost, first, last = conn.execute(
            "select count(*), sum(total_cost_usd), min(call_date), max(call_date) from marts.fct_llm_calls"
        ).fetchone()
        quarantined = conn.execute(
            "select rule, sum(quarantined_rows) from quality.quarantine_summary group by rule order by 2 desc, 1"
        ).fetchall()
    finally:
        conn.close()
    lines = [f"{calls:,} LLM calls from {first} to {last}, total cost ${cost:,.2f}"]
    if quarantined:
        reasons = ", ".join(f"{rule} {rows:,}" for rule, rows in quarantined)
        lines.append(f"quarantined rows: {sum(r for _, r in quarantined):,} ({reasons})")
    else:
        lines.append("quarantined rows: 0")
    return lines


def _pipeline_runs(defs, instance, plan: RerunPlan) -> list[tuple]:
    """(job, tags) of each run the plan needs: the warehouse job over the whole window, over each
    range of changed days (without the reference seeds, whose inputs did not change, and the
    backtest unless past days changed), or publishing alone."""
    from orchestration.defs.automation.definitions import (
        BACKTEST_SELECTION,
        REFERENCE_SELECTION,
        WAREHOUSE_SELECTION,
        range_tags,
    )
    from orchestration.defs.publish.assets import PUBLISHED_MARTS
    from orchestration.defs.signals.assets import FORECAST_BACKTEST
    from orchestration.landing_watch import needs_backtest

    pipeline = defs.resolve_job_def("agentledger_pipeline")
    if plan.publish_only:
        return [(pipeline.get_subset(asset_selection={PUBLISHED_MARTS}), {})]
    if plan.full:
        return [(defs.resolve_job_def("agentledger_warehouse"), range_tags(*r)) for r in plan.ranges]
    graph = defs.resolve_asset_graph()
    selection = WAREHOUSE_SELECTION - REFERENCE_SELECTION
    backtest_built = instance.get_latest_materialization_event(FORECAST_BACKTEST) is not None
    if not needs_backtest(plan.ranges, dt.datetime.now(dt.UTC).date(), backtest_built):
        selection = selection - BACKTEST_SELECTION
    job = pipeline.get_subset(asset_selection=set(selection.resolve(graph)))
    return [(job, range_tags(*r)) for r in plan.ranges]


def _report_failure(what: str, outcome, log_path) -> None:
    step, first_line = outcome.failure or ("(no step failed; the run could not start)", "")
    print(f"{what} failed at step {step}: {first_line}", file=sys.stderr)
    print(f"  log: {log_path}", file=sys.stderr)
    print(f"  run: {outcome.run_id} in the Dagster UI (agentledger ui)", file=sys.stderr)


def _print_done(settings: Settings, started: float, run_id: str | None, log_path) -> None:
    summary = _summary(settings)
    minutes, secs = divmod(round(time.monotonic() - started), 60)
    print(
        f"\nDone in {f'{minutes} min {secs} s' if minutes else f'{secs} s'}: {summary[0]}\n"
        f"  {summary[1]}\n"
        f"  working warehouse : {settings.warehouse_path}\n"
        f"  published marts   : {settings.published_warehouse_path} (read-only copy for analysts)\n"
        f"  report site       : {settings.published_dir / 'site'}  ->  agentledger serve-report  (http://127.0.0.1:3001)\n"
        f"  Dagster UI        : agentledger ui  (http://127.0.0.1:3000" + (f", run {run_id[:8]})" if run_id else ")")
    )
    if log_path is not None:
        print(f"  log               : {log_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="stream dbt and Dagster logs instead of progress lines")
    args = parser.parse_args(argv)
    started = time.monotonic()
    settings = load_settings()
    first, last = demo_window(settings.demo_days, None)
    print(f"AgentLedger demo: {settings.demo_calls:,} synthetic LLM calls, {first}..{last}, in {settings.data_dir}")
    window = {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "calls": settings.demo_calls,
        "seed": GeneratorConfig.seed,
    }
    _reset_if_dataset_changed(settings, window)
    installed = install_reference_files(DEMO_REFERENCE_DIR, settings)
    kept = [name for name in REFERENCE_FILES if settings.reference_dir / name not in installed]
    if installed:
        print(f"Installed the demo's {', '.join(p.name for p in installed)} into {settings.reference_dir}")
    if kept:
        print(f"Kept the existing {', '.join(kept)} in {settings.reference_dir}")
    state = DemoState.read(settings)
    generated_dir = settings.landing_dir / SYNTHETIC_SUBDIR
    # Decided before Dagster loads or the generator runs: a rerun with nothing to do takes seconds.
    if unchanged_since(settings, state, window, generated_dir):
        print(f"Nothing changed since the last run at {state.finished_at}, site up to date")
        _print_done(settings, started, None, None)
        return 0
    return _run(args, settings, window, state, generated_dir, started)


def _run(args, settings: Settings, window: dict[str, object], state: DemoState | None, generated_dir, started) -> int:
    """Generate (rewriting only changed files), then run what the plan needs through Dagster."""
    import dagster as dg

    # Dagster flags the beta parameters the definitions use, at import; nothing a user can act on.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)

    from orchestration.definitions import defs
    from orchestration.defs.automation.definitions import SITE_JOB
    from orchestration.ingest import pending_days
    from orchestration.progress import log_path_for, run_with_progress, stage_by_step
    from orchestration.run_range import CONSOLE_INFO, PID_TAG, announce_reclaimed_runs

    log_path = log_path_for(settings.logs_dir, "demo")
    print(f"Logs: {log_path}" + ("" if args.verbose else "  (--verbose streams them)"))
    instance = dg.DagsterInstance.get()
    announce_reclaimed_runs(instance)
    stages = stage_by_step(defs)

    generate = run_with_progress(
        defs.resolve_job_def("generate_demo_data"),
        instance,
        stages,
        log_path,
        verbose=args.verbose,
        run_config=CONSOLE_INFO,
    )
    if not generate.success:
        _report_failure("Generating the synthetic dataset", generate, log_path)
        return 1
    inputs = input_fingerprints(settings)
    plan = plan_rerun(settings, state, window, inputs, pending_days(settings))
    for reason in plan.reasons:
        print(reason)
    run_id = None
    if plan.runs_pipeline:
        # From here until the record is written again, the previous one no longer describes the outputs.
        (settings.data_dir / STATE_FILE).unlink(missing_ok=True)
        for job, tags in _pipeline_runs(defs, instance, plan):
            run = run_with_progress(
                job,
                instance,
                stages,
                log_path,
                verbose=args.verbose,
                run_config=CONSOLE_INFO,
                tags={**tags, PID_TAG: str(os.getpid())},
            )
            if not run.success:
                _report_failure("The pipeline run", run, log_path)
                return 1
            run_id = run.run_id

    published_sha = file_sha256(settings.published_warehouse_path)
    reports = report_project_checksum()
    site_reason = site_rebuild_reason(settings, state, published_sha, reports)
    if site_reason:
        print(f"Building the report site: {site_reason}")
        (settings.data_dir / STATE_FILE).unlink(missing_ok=True)
        site = run_with_progress(
            defs.resolve_job_def(SITE_JOB),
            instance,
            stages,
            log_path,
            verbose=args.verbose,
            run_config=CONSOLE_INFO,
            tags={PID_TAG: str(os.getpid())},
        )
        if not site.success:
            _report_failure("The report-site build", site, log_path)
            return 1
        run_id = site.run_id if run_id is None else run_id

    did_work = plan.runs_pipeline or site_reason is not None
    finished_at = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC" if did_work or state is None else state.finished_at
    DemoState(
        finished_at=finished_at,
        window=window,
        inputs=inputs,
        published_sha256=published_sha,
        site_built_from={"published_sha256": published_sha, "reports": reports},
        generated=file_listing(generated_dir),
    ).write(settings)
    if not did_work:
        print(f"Nothing changed since the last run at {finished_at}, site up to date")

    _print_done(settings, started, run_id, log_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
