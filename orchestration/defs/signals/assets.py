"""Signals assets: declarations only; the work is in orchestration/signals.

Every asset reads the dbt models made for it (marts.rpt_signal_*, aggregates of
marts.fct_llm_calls in dbt_project/models/marts/signals) and writes one table in the `signals` schema of the working DuckDB file, so
they all run in the DuckDB writer pool.
"""

import dagster as dg

from orchestration.partitions import DUCKDB_WRITER_POOL
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import asset_table_metadata

# The signals modules (pandas, and Prophet inside the forecast) are imported
# inside each asset body: a run that does not reach these steps never pays for them.

AGENT_DAILY = dg.AssetKey(["marts", "rpt_signal_agent_daily"])
AGENT_MODEL_DAILY = dg.AssetKey(["marts", "rpt_signal_agent_model_daily"])
RECOMMENDATION_INPUTS = [
    dg.AssetKey(["marts", "rpt_signal_usage_recent"]),
    dg.AssetKey(["marts", "rpt_signal_model_latency_recent"]),
    dg.AssetKey(["marts", "rpt_signal_agent_peak_hours"]),
]
COST_FORECAST = dg.AssetKey(["signals", "cost_forecast"])
FORECAST_BACKTEST = dg.AssetKey(["signals", "forecast_backtest"])
COST_ANOMALIES = dg.AssetKey(["signals", "cost_anomalies"])
DETECTION_QUALITY = dg.AssetKey(["signals", "anomaly_detection_quality"])
BUDGET_STATUS = dg.AssetKey(["signals", "budget_status"])
ALERTS = dg.AssetKey(["signals", "alerts"])
RECOMMENDATIONS = dg.AssetKey(["signals", "recommendations"])

ANOMALY_F1_TARGET = 0.8
ANOMALY_PRECISION_TARGET = 0.8
OWNERS = ["team:finops"]


def _pipeline():
    from orchestration.signals import pipeline

    return pipeline


def _labels_path(warehouse: WarehouseResource):
    return warehouse.settings().ground_truth_dir / "anomalies.csv"


@dg.asset(
    key=COST_FORECAST,
    deps=[AGENT_DAILY, FORECAST_BACKTEST],
    group_name="forecast",
    kinds={"python", "prophet", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "30-day daily cost forecast with 80 % and 95 % intervals for the total, each workspace, each "
        "department and the top agents, each scope with the method its backtest chose (Prophet, AutoETS, "
        "AutoTheta, seasonal naive, ...) and intervals calibrated on that method's past errors; Prophet with "
        "its own intervals where there is no backtest; fallbacks for short histories. History rows carry "
        "actuals for charting."
    ),
)
def cost_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {**_pipeline().refresh_forecasts(con), **asset_table_metadata(con, COST_FORECAST)}
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=FORECAST_BACKTEST,
    deps=[AGENT_DAILY],
    group_name="forecast",
    kinds={"python", "prophet", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Rolling-origin backtest (weekly origins back from the last day, 30-day horizon): MAPE, sMAPE and "
        "calibrated 80 % / 95 % interval coverage per scope for Prophet, AutoETS, AutoTheta, seasonal naive "
        "and linear trend; also writes signals.forecast_model_choice, each scope's method and why."
    ),
)
def forecast_backtest(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {**_pipeline().refresh_backtest(con), **asset_table_metadata(con, FORECAST_BACKTEST)}
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=COST_ANOMALIES,
    deps=[AGENT_DAILY, AGENT_MODEL_DAILY],
    group_name="signals",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Cost anomalies per agent-day and workspace-day against a weekly-seasonal robust baseline, "
        "with severity (deviation and dollars) and likely driver."
    ),
)
def cost_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {**_pipeline().refresh_anomalies(con), **asset_table_metadata(con, COST_ANOMALIES)}
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=DETECTION_QUALITY,
    deps=[COST_ANOMALIES],
    group_name="signals",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Precision, recall and F1 of the anomaly detector against the synthetic generator's ground-truth "
        "labels (<data dir>/ground_truth/anomalies.csv); empty when there are no labels."
    ),
)
def anomaly_detection_quality(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {
            **_pipeline().refresh_detection_quality(con, _labels_path(warehouse)),
            **asset_table_metadata(con, DETECTION_QUALITY),
        }
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=BUDGET_STATUS,
    deps=[AGENT_DAILY, COST_FORECAST],
    group_name="signals",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Budget status per budget and month: month-to-date spend, utilisation, projected month-end "
        "(actuals + forecast), projected exceed date, thresholds crossed; `no_traffic` for a budget whose "
        "scope has no calls yet. Budgets: <data dir>/reference/budgets.csv (none without it) merged with "
        "<data dir>/budgets/overrides.csv; invalid rows are left out, logged as warnings and written to "
        "signals.budget_errors with file, line and field."
    ),
)
def budget_status(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from orchestration.signals.budgets import budgets_path, overrides_path

    settings = warehouse.settings()
    with warehouse.connect() as con:
        meta = _pipeline().refresh_budget_status(con, budgets_path(settings), overrides_path(settings))
        meta.update(asset_table_metadata(con, BUDGET_STATUS))
    errors = meta.pop("errors", [])
    for message in errors:
        context.log.warning(f"budget row left out: {message}")
    if errors:
        meta["errors"] = dg.MetadataValue.md("\n".join(f"- {m}" for m in errors[:50]))
    if "no_traffic_budgets" in meta:
        context.log.warning(f"budgets whose scope has no calls yet (status no_traffic): {meta['no_traffic_budgets']}")
    if meta["budgets"] == 0 and not errors:
        context.log.info(f"no budgets configured ({budgets_path(settings)} does not exist or is empty)")
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=ALERTS,
    deps=[BUDGET_STATUS, COST_ANOMALIES],
    group_name="signals",
    kinds={"python", "duckdb", "slack"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Budget threshold crossings (actual and projected) and high/critical anomalies as alerts, each "
        "raised once (deterministic alert_key), posted to AGENTLEDGER_ALERT_WEBHOOK_URL with retries; "
        "attempts in signals.alert_deliveries."
    ),
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {
            **_pipeline().refresh_alerts(con, warehouse.settings().alert_webhook_url),
            **asset_table_metadata(con, ALERTS),
        }
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=RECOMMENDATIONS,
    deps=RECOMMENDATION_INPUTS,
    group_name="signals",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=DUCKDB_WRITER_POOL,
    description=(
        "Rule-based savings recommendations (cheaper model, prompt caching, batch tier, output trimming, "
        "error waste) ranked by estimated monthly saving from the last 30 days of traffic."
    ),
)
def recommendations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        meta = {**_pipeline().refresh_recommendations(con), **asset_table_metadata(con, RECOMMENDATIONS)}
    return dg.MaterializeResult(metadata=meta)


# ---------------------------------------------------------------- checks


@dg.asset_check(
    asset=DETECTION_QUALITY,
    description=(
        f"On labelled (synthetic) data: agent-day F1 >= {ANOMALY_F1_TARGET} and precision >= "
        f"{ANOMALY_PRECISION_TARGET}. Passes with a note when there are no labels."
    ),
)
def anomaly_detection_meets_target(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from orchestration.signals.io import read_table

    with warehouse.connect(read_only=True) as con:
        quality = read_table(con, "anomaly_detection_quality")
    if quality is None or quality.empty:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no ground-truth labels; nothing to score"})
    row = quality[(quality["grain"] == "agent_day") & (quality["kind"] == "all")].iloc[0]
    passed = bool(row["f1"] >= ANOMALY_F1_TARGET and row["precision"] >= ANOMALY_PRECISION_TARGET)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"f1": float(row["f1"]), "precision": float(row["precision"]), "recall": float(row["recall"])},
    )


@dg.asset_check(
    asset=FORECAST_BACKTEST,
    description=(
        "At every scope level, the chosen methods' mean backtest coverage is within the target: 80 % intervals "
        "75-85 %, 95 % intervals at least 90 %."
    ),
)
def forecast_intervals_meet_coverage(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from orchestration.signals.io import read_table

    with warehouse.connect(read_only=True) as con:
        choice = read_table(con, "forecast_model_choice")
    chosen = choice[choice["selected"].astype(bool)] if choice is not None and len(choice) else None
    if chosen is None or chosen.empty:
        return dg.AssetCheckResult(passed=True, metadata={"note": "history too short for a backtest"})
    by_level = chosen.groupby("scope_type")[["coverage_80", "coverage_95"]].mean()
    passed = bool(
        (
            (by_level["coverage_80"] >= 0.75) & (by_level["coverage_80"] <= 0.85) & (by_level["coverage_95"] >= 0.90)
        ).all()
    )
    metadata = {
        f"coverage_{level}_{scope_type}": round(float(v), 3)
        for scope_type, row in by_level.iterrows()
        for level, v in (("80", row["coverage_80"]), ("95", row["coverage_95"]))
    }
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


@dg.asset_check(
    asset=BUDGET_STATUS,
    description=(
        "Every budget row (budgets file and overrides) is valid: unique id, known scope type, positive limit, "
        "thresholds strictly increasing in (0, 2]. Invalid rows are left out of the status, not fatal: warns."
    ),
)
def budgets_are_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from orchestration.signals.budgets import budgets_path, overrides_path, read_budgets

    settings = warehouse.settings()
    loaded = read_budgets(budgets_path(settings), overrides_path(settings))
    metadata = {"budgets": len(loaded.budgets), "invalid_rows": len(loaded.errors)}
    if loaded.errors:
        metadata["errors"] = dg.MetadataValue.md("\n".join(f"- {e.message}" for e in loaded.errors[:50]))
    return dg.AssetCheckResult(passed=not loaded.errors, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


defs = dg.Definitions(
    assets=[
        cost_forecast,
        forecast_backtest,
        cost_anomalies,
        anomaly_detection_quality,
        budget_status,
        alerts,
        recommendations,
    ],
    asset_checks=[anomaly_detection_meets_target, forecast_intervals_meet_coverage, budgets_are_valid],
)
