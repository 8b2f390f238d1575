"""Jobs, the nightly schedule, the landing sensor and run-failure alerts."""

import datetime as dt
import time

import dagster as dg

from orchestration.defs.generate.assets import synthetic_traces
from orchestration.ingest import pending_days
from orchestration.landing_watch import plan_landing_runs
from orchestration.partitions import PARTITION_RANGE_END, PARTITION_RANGE_START, daily_partitions
from orchestration.settings import load_settings
from orchestration.signals.alerts import DeliveryPolicy, deliver_one

LANDING_DEBOUNCE_SECONDS = 30

pipeline_job = dg.define_asset_job(
    name="agentledger_pipeline",
    description=(
        "Load the landing folder for the selected days, price and model them in dbt, "
        "then rebuild forecasts, signals, the published marts and the report site."
    ),
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(synthetic_traces),
    # One process, steps in order: the working DuckDB file has a single writer.
    executor_def=dg.in_process_executor,
)

demo_data_job = dg.define_asset_job(
    name="generate_demo_data",
    description="Write the deterministic synthetic dataset into the landing folder.",
    selection=dg.AssetSelection.assets(synthetic_traces),
)


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Tags that make one run cover a range of daily partitions."""
    return {PARTITION_RANGE_START: first.isoformat(), PARTITION_RANGE_END: last.isoformat()}


@dg.schedule(
    job=pipeline_job,
    cron_schedule=load_settings().schedule_cron,
    execution_timezone="UTC",
    description="Every night: yesterday's partition and everything downstream.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    yesterday = (scheduled - dt.timedelta(days=1)).date()
    return dg.RunRequest(run_key=f"nightly-{yesterday.isoformat()}", partition_key=yesterday.isoformat())


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=60,
    description=(
        "Watches the landing folder: new or changed files trigger a run for the days they "
        f"contain (late data included), once they have been still for {LANDING_DEBOUNCE_SECONDS}s."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    settings = load_settings()
    if not settings.landing_dir.exists():
        return dg.SkipReason(f"{settings.landing_dir} does not exist yet")
    first_partition = dt.date.fromisoformat(settings.partitions_start)
    pending = {day: files for day, files in pending_days(settings).items() if day >= first_partition}
    plan = plan_landing_runs(pending, settings.landing_dir, context.cursor, time.time(), LANDING_DEBOUNCE_SECONDS)
    if not plan.ranges:
        reason = f"{len(plan.waiting_files)} file(s) still changing" if plan.waiting_files else "no new files"
        return dg.SkipReason(reason)
    requests = [
        dg.RunRequest(run_key=f"landing-{plan.cursor[:16]}-{first}-{last}", tags=range_tags(first, last))
        for first, last in plan.ranges
    ]
    return dg.SensorResult(run_requests=requests, cursor=plan.cursor)


@dg.run_failure_sensor(
    monitored_jobs=[pipeline_job],
    # On from the start when there is a webhook to post to; otherwise there is nothing to do.
    default_status=dg.DefaultSensorStatus.RUNNING
    if load_settings().alert_webhook_url
    else dg.DefaultSensorStatus.STOPPED,
    description="Posts failed pipeline runs to the alert webhook (AGENTLEDGER_ALERT_WEBHOOK_URL).",
)
def pipeline_failure_alert(context: dg.RunFailureSensorContext) -> None:
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
    jobs=[pipeline_job, demo_data_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor, pipeline_failure_alert],
)

__all__ = ["daily_partitions", "defs", "range_tags"]
