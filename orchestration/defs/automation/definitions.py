"""Jobs, the nightly schedule, the landing and report-site sensors and run-failure alerts.

Two lanes (dagster.yaml): the `warehouse` lane runs one pipeline run at a
time (the working DuckDB file has one writer); the `site` lane builds the
report site from the published copy, so a site build never holds the slot a
new drop's run needs.
"""

import datetime as dt
import hashlib
import time

import dagster as dg
import duckdb

from orchestration.defs.generate.assets import synthetic_traces
from orchestration.defs.publish.assets import PUBLISHED_MARTS, REPORT_SITE
from orchestration.defs.signals.assets import COST_FORECAST, FORECAST_BACKTEST
from orchestration.defs.warehouse.assets import dbt_reference_seeds
from orchestration.defs.warehouse.reference import ORG_MAPPING_INPUT
from orchestration.landing_watch import (
    WatchState,
    files_checksum,
    needs_backtest,
    needs_forecast,
    needs_reference_refresh,
    plan_landing_runs,
)
from orchestration.partitions import PARTITION_RANGE_END, PARTITION_RANGE_START, daily_partitions
from orchestration.reference import org_mapping_path
from orchestration.run_tags import landing_coverage_tags
from orchestration.settings import SEEDS_DIR, Settings, load_settings

LANE_TAG = "agentledger/lane"
SITE_JOB = "agentledger_report_site"

pipeline_job = dg.define_asset_job(
    name="agentledger_pipeline",
    description=(
        "Load the landing folder for the selected days, price and model them in dbt, then rebuild "
        "forecasts, signals, the published marts and the report site (from the shell and the demo)."
    ),
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(synthetic_traces),
    # One process, steps in order: the working DuckDB file has a single writer.
    executor_def=dg.in_process_executor,
    tags={LANE_TAG: "warehouse"},
)

report_site_job = dg.define_asset_job(
    name=SITE_JOB,
    description="Rebuild the report site from the published copy (reads no working file, writes no table).",
    selection=dg.AssetSelection.assets(REPORT_SITE),
    executor_def=dg.in_process_executor,
    tags={LANE_TAG: "site"},
)

demo_data_job = dg.define_asset_job(
    name="generate_demo_data",
    description="Write the deterministic synthetic dataset into the landing folder.",
    selection=dg.AssetSelection.assets(synthetic_traces),
)

# The run for new data: everything the pipeline job holds but the report site.
WAREHOUSE_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.assets(synthetic_traces, REPORT_SITE)

warehouse_job = dg.define_asset_job(
    name="agentledger_warehouse",
    description=(
        "The pipeline without the report site, for the nightly schedule and the landing sensor: load, "
        "model, forecast, signals, and publishing as the last step; the report-site job follows it."
    ),
    selection=WAREHOUSE_SELECTION,
    executor_def=dg.in_process_executor,
    tags={LANE_TAG: "warehouse"},
)
REFERENCE_SELECTION = dg.AssetSelection.assets(dbt_reference_seeds, ORG_MAPPING_INPUT)
BACKTEST_SELECTION = dg.AssetSelection.assets(FORECAST_BACKTEST)
FORECAST_SELECTION = dg.AssetSelection.assets(COST_FORECAST)


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Tags that make one run cover a range of daily partitions."""
    return {PARTITION_RANGE_START: first.isoformat(), PARTITION_RANGE_END: last.isoformat()}


def reference_files(settings: Settings) -> list:
    """The files the reference seeds are built from: the seed CSVs and the user's org mapping."""
    return [*sorted(SEEDS_DIR.glob("*.csv")), org_mapping_path(settings)]


def _latest_materialization_time(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    event = instance.get_latest_materialization_event(key)
    return event.timestamp if event is not None else None


@dg.schedule(
    job=warehouse_job,
    cron_schedule=load_settings().schedule_cron,
    execution_timezone="UTC",
    description=(
        "Every night: yesterday's partition and everything downstream, the reference seeds and the "
        "forecast backtest included; the report-site sensor then rebuilds the site."
    ),
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    yesterday = (scheduled - dt.timedelta(days=1)).date()
    return dg.RunRequest(run_key=f"nightly-{yesterday.isoformat()}", partition_key=yesterday.isoformat())


@dg.sensor(
    job=warehouse_job,
    minimum_interval_seconds=load_settings().landing_tick_seconds,
    description=(
        "Watches the landing folder every AGENTLEDGER_LANDING_TICK_SECONDS (5 s): new or changed files "
        "trigger a run for the days they contain (today and late data included) once two looks agree on "
        "their size and mtime (a renamed complete Parquet file at once). The run rebuilds only what the "
        "drop changes: reference seeds when their files changed, the forecast backtest for late data, the "
        "forecast (fitted on complete days) unless only today changed and it was fitted today; "
        "publishing is its last step and the report-site sensor rebuilds the site."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    from orchestration.ingest import pending_days

    settings = load_settings()
    if not settings.landing_dir.exists():
        return dg.SkipReason(f"{settings.landing_dir} does not exist yet")
    first_partition = dt.date.fromisoformat(daily_partitions.get_first_partition_key())
    try:
        pending = pending_days(settings)
    except duckdb.IOException as exc:
        # A run holds the working file's write lock for a moment: look again at the next tick.
        return dg.SkipReason(f"the warehouse is busy ({exc}); looking again in {settings.landing_tick_seconds} s")
    before = sorted(day for day in pending if day < first_partition)
    if before:
        context.log.warning(
            f"files for {len(before)} day(s) before the first partition {first_partition} "
            f"(from {before[0]}) are not loaded: set AGENTLEDGER_PARTITIONS_START and reload the code location"
        )
    pending = {day: files for day, files in pending.items() if day >= first_partition}
    previous = WatchState.from_cursor(context.cursor)
    plan = plan_landing_runs(pending, settings.landing_dir, previous, time.time(), settings.landing_tick_seconds)
    if not plan.ranges:
        reason = f"{len(plan.waiting_files)} file(s) still changing" if plan.waiting_files else "no new files"
        return dg.SensorResult(skip_reason=reason, cursor=plan.cursor)

    asset_graph = context.repository_def.asset_graph
    selection = WAREHOUSE_SELECTION
    checksum = files_checksum(reference_files(settings))
    existing = [p for p in reference_files(settings) if p.exists()]
    seeds_built = _latest_materialization_time(context.instance, next(iter(dbt_reference_seeds.keys)))
    if not needs_reference_refresh(
        checksum,
        previous.reference_checksum,
        max((p.stat().st_mtime for p in existing), default=None),
        seeds_built,
    ):
        selection = selection - REFERENCE_SELECTION
    today = dt.datetime.now(dt.UTC).date()
    backtest_built = _latest_materialization_time(context.instance, FORECAST_BACKTEST) is not None
    if not needs_backtest(plan.ranges, today, backtest_built):
        selection = selection - BACKTEST_SELECTION
    forecast_built = _latest_materialization_time(context.instance, COST_FORECAST)
    forecast_built_on = dt.datetime.fromtimestamp(forecast_built, dt.UTC).date() if forecast_built else None
    if not needs_forecast(plan.ranges, today, forecast_built_on):
        selection = selection - FORECAST_SELECTION
    keys = sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string())
    chosen = set(plan.files)
    new_by_day = {day: [f for f in day_files if f in chosen] for day, day_files in pending.items()}
    # The same files at the same size and mtime make the same run key: never requested twice.
    batch = hashlib.sha256(repr(sorted((f, plan.state.requested[f]) for f in plan.files)).encode()).hexdigest()[:16]
    requests = [
        dg.RunRequest(
            run_key=f"landing-{first}-{last}-{batch}",
            asset_selection=keys,
            tags={**range_tags(first, last), **landing_coverage_tags(new_by_day, first, last)},
        )
        for first, last in plan.ranges
    ]
    state = WatchState(looks=plan.state.looks, requested=plan.state.requested, reference_checksum=checksum)
    return dg.SensorResult(run_requests=requests, cursor=state.to_cursor())


@dg.sensor(
    job=report_site_job,
    minimum_interval_seconds=load_settings().landing_tick_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Rebuilds the report site after the published copy changes. Several publishes in a row make "
        "one build: nothing is requested while a build is waiting to start (it will read the newest "
        "copy), or when the site is newer than the last publish."
    ),
)
def report_site_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    instance = context.instance
    published = _latest_materialization_time(instance, PUBLISHED_MARTS)
    if published is None:
        return dg.SkipReason("nothing published yet")
    built = _latest_materialization_time(instance, REPORT_SITE)
    if built is not None and built >= published:
        return dg.SkipReason("the site is newer than the last publish")
    site_runs = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=SITE_JOB,
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        )
    )
    for record in site_runs:
        started = record.start_time
        if record.dagster_run.status != dg.DagsterRunStatus.STARTED or (started and started >= published):
            return dg.SkipReason(f"build {record.dagster_run.run_id[:8]} will read the newest publish")
    return dg.RunRequest(run_key=f"site-{int(published * 1000)}")


@dg.run_failure_sensor(
    monitored_jobs=[pipeline_job, warehouse_job, report_site_job],
    # On from the start when there is a webhook to post to; otherwise there is nothing to do.
    default_status=dg.DefaultSensorStatus.RUNNING
    if load_settings().alert_webhook_url
    else dg.DefaultSensorStatus.STOPPED,
    description="Posts failed pipeline and report-site runs to the alert webhook (AGENTLEDGER_ALERT_WEBHOOK_URL).",
)
def pipeline_failure_alert(context: dg.RunFailureSensorContext) -> None:
    from orchestration.signals.alerts import DeliveryPolicy, deliver_one

    settings = load_settings()
    if not settings.alert_webhook_url:
        context.log.info("No AGENTLEDGER_ALERT_WEBHOOK_URL: run failure not posted")
        return
    run = context.dagster_run
    alert = {
        "alert_key": f"run_failure:{run.run_id}",
        "severity": "high",
        "title": f"AgentLedger run failed: {run.job_name}",
        "message": (
            f"Run {run.run_id[:8]} failed: {context.failure_event.message or 'no message'}. "
            "Published outputs are unchanged; see the run in the Dagster UI."
        ),
    }
    # Not recorded in the warehouse: the failure may be the warehouse itself.
    attempts = deliver_one(alert, settings.alert_webhook_url, DeliveryPolicy())
    context.log.info(f"Run failure alert: {attempts[-1]['status']} after {len(attempts)} attempt(s)")


defs = dg.Definitions(
    jobs=[pipeline_job, warehouse_job, report_site_job, demo_data_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor, report_site_sensor, pipeline_failure_alert],
)

__all__ = ["daily_partitions", "defs", "range_tags"]
