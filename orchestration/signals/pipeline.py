"""One function per signals table: read inputs, compute, write `signals.<table>`.

These are what the Dagster assets call (orchestration/defs/signals); each
takes an open connection to the working DuckDB file and returns the figures
worth showing as asset metadata. Kept free of Dagster so tests call them
directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.signals.alerts import DeliveryPolicy, anomaly_alerts, budget_alerts, deliver_pending, record_alerts
from orchestration.signals.anomalies import AnomalyConfig, add_mix_cost, detect_anomalies, name_models, scope_day_panel
from orchestration.signals.backtest import BacktestConfig, median_mape, run_backtest
from orchestration.signals.budgets import NO_TRAFFIC, budget_status, read_budgets
from orchestration.signals.forecast import ForecastConfig, build_forecasts, scope_series
from orchestration.signals.io import (
    FCT_TABLE,
    complete_days,
    read_agent_day_models,
    read_agent_days,
    read_table,
    replace_table,
)
from orchestration.signals.quality import empty_quality_frame, read_labels, score_detection
from orchestration.signals.recommendations import RecommendationConfig, recommendations_from_warehouse


@dataclass(frozen=True)
class SignalsConfig:
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    anomaly: AnomalyConfig = field(default_factory=AnomalyConfig)
    recommendation: RecommendationConfig = field(default_factory=RecommendationConfig)
    backtest_scope_types: tuple[str, ...] = ("total", "workspace", "department", "agent")


def _r(x: float) -> float:
    return round(float(x), 4)


def refresh_forecasts(
    con: duckdb.DuckDBPyConnection, config: SignalsConfig | None = None, today: date | None = None
) -> dict:
    """Forecast every scope with the method its backtest chose (signals.forecast_model_choice).

    The history is the days before `today` (UTC): today's partial cost is not fitted.
    """
    cfg = config or SignalsConfig()
    agent_days = read_agent_days(con)
    complete = complete_days(agent_days, today)
    # With no complete day yet (a first load of today's traces), today's rows
    # still give each scope its row saying why there is no forecast; the
    # report site needs that table non-empty.
    series = scope_series(complete if len(complete) else agent_days, cfg.forecast.top_n_agents)
    fc = build_forecasts(series, cfg.forecast, choice=read_table(con, "forecast_model_choice"))
    replace_table(con, "cost_forecast", fc)
    scopes = fc.drop_duplicates(["scope_type", "scope_id"])
    methods = scopes["method"].value_counts().to_dict()
    meta = {"rows": len(fc), "scopes": len(scopes), **{f"scopes_{m}": int(n) for m, n in methods.items()}}
    reasons = scopes["fallback_reason"].dropna()
    reasons = reasons[~reasons.str.startswith("level shift")]
    if len(reasons):
        # e.g. "history of 3 day(s) is shorter than the 14 days required": said, not failed
        meta["note"] = "; ".join(f"{n} scope(s): {r}" for r, n in reasons.value_counts().items())
    if complete.empty and not agent_days.empty:
        only_today = "every loaded day is today (UTC), still in progress: forecasts start once a day is complete"
        meta["note"] = "; ".join(n for n in (only_today, meta.get("note")) if n)
    return meta


def refresh_backtest(
    con: duckdb.DuckDBPyConnection, config: SignalsConfig | None = None, today: date | None = None
) -> dict:
    """Rolling-origin backtest of every method; writes the cut-off rows and each scope's choice of method.

    Scored on the days before `today` (UTC), as the forecast is fitted.
    """
    cfg = config or SignalsConfig()
    series = scope_series(complete_days(read_agent_days(con), today), cfg.forecast.top_n_agents)
    result = run_backtest(series, cfg.backtest, cfg.forecast, cfg.backtest_scope_types)
    replace_table(con, "forecast_backtest", result.rows)
    replace_table(con, "forecast_model_choice", result.choice)
    bt = result.rows
    med = median_mape(bt, "total")
    meta = {"rows": len(bt), **{f"total_median_mape_{m}": _r(v) for m, v in med.items()}}
    chosen = result.choice[result.choice["selected"].astype(bool)] if len(result.choice) else result.choice
    if len(chosen):
        meta.update({f"scopes_chose_{m}": int(n) for m, n in chosen["method"].value_counts().items()})
        meta["scopes_meeting_coverage"] = int(chosen["meets_coverage"].astype(bool).sum())
    if bt.empty:
        b = cfg.backtest
        meta["note"] = (
            f"history too short for a backtest: a cut-off needs {b.min_train_days} training and "
            f"{b.min_test_days} test days"
        )
    return meta


def refresh_anomalies(con: duckdb.DuckDBPyConnection, config: SignalsConfig | None = None) -> dict:
    """Detect cost anomalies per agent-day and workspace-day."""
    cfg = config or SignalsConfig()
    models = read_agent_day_models(con)
    agent_days = add_mix_cost(read_agent_days(con), models)
    anomalies = name_models(detect_anomalies(scope_day_panel(agent_days), cfg.anomaly), models)
    replace_table(con, "cost_anomalies", anomalies)
    meta = {
        "anomalies": len(anomalies),
        **{f"severity_{k}": int(v) for k, v in anomalies["severity"].value_counts().items()},
        **{f"rule_{k}": int(v) for k, v in anomalies["rule"].value_counts().items()},
    }
    days = (agent_days["date"].max() - agent_days["date"].min()).days + 1 if len(agent_days) else 0
    if days <= cfg.anomaly.warmup_days:
        meta["note"] = (
            f"history of {days} day(s): the baseline needs {cfg.anomaly.warmup_days} days of warm-up "
            "(counted from each scope's first day with spend) before a day can be scored, "
            "so no day was scored yet"
        )
    return meta


def refresh_detection_quality(con: duckdb.DuckDBPyConnection, labels_path: Path) -> dict:
    """Score signals.cost_anomalies against ground-truth labels when the file exists.

    Real deployments have no labels: the table is then written empty and the
    returned figures say so.
    """
    anomalies = read_table(con, "cost_anomalies")
    if anomalies is None:
        raise LookupError("signals.cost_anomalies does not exist; run the anomaly detection first")
    if not labels_path.exists():
        replace_table(con, "anomaly_detection_quality", empty_quality_frame())
        return {"labels": "absent", "labels_path": str(labels_path)}
    span = con.execute(f"select min(call_date), max(call_date) from {FCT_TABLE}").fetchone()
    quality = score_detection(anomalies, read_labels(labels_path), span)
    replace_table(con, "anomaly_detection_quality", quality)
    row = quality[(quality["grain"] == "agent_day") & (quality["kind"] == "all")].iloc[0]
    return {
        "labels_path": str(labels_path),
        "labelled_agent_days": int(row["labelled"]),
        "precision": _r(row["precision"]),
        "recall": _r(row["recall"]),
        "f1": _r(row["f1"]),
    }


def refresh_budget_status(
    con: duckdb.DuckDBPyConnection, budgets_file: Path | None = None, override_path: Path | None = None
) -> dict:
    """Compute every valid budget's status; write the rejected rows to signals.budget_errors.

    `budgets_file` is the user's `<data dir>/reference/budgets.csv` (None or
    missing: no budgets). Invalid rows never fail the run: they are left out,
    written with their file, line, field and reason, and listed in the
    returned figures (`errors`), which the asset logs as warnings.
    """
    agent_days = read_agent_days(con)
    loaded = read_budgets(budgets_file, override_path)
    status = budget_status(loaded.budgets, agent_days, read_table(con, "cost_forecast"))
    errors = loaded.errors_frame().assign(checked_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
    replace_table(con, "budget_status", status)
    replace_table(con, "budget_errors", errors)
    current = status[status["month"] == status["month"].max()] if len(status) else status
    no_traffic = sorted(set(status.loc[status["status"] == NO_TRAFFIC, "budget_id"])) if len(status) else []
    return {
        "budgets": len(loaded.budgets),
        "rows": len(status),
        "invalid_rows": len(loaded.errors),
        "budgets_file": str(budgets_file) if budgets_file else "none",
        **{f"current_{k}": int(v) for k, v in current["status"].value_counts().items()},
        **({"no_traffic_budgets": ", ".join(no_traffic)} if no_traffic else {}),
        **({"errors": [e.message for e in loaded.errors]} if loaded.errors else {}),
    }


def refresh_alerts(
    con: duckdb.DuckDBPyConnection, webhook_url: str | None, policy: DeliveryPolicy | None = None
) -> dict:
    """Record new alerts from budget status and anomalies, then deliver pending ones."""
    status = read_table(con, "budget_status")
    anomalies = read_table(con, "cost_anomalies")
    frames = []
    if status is not None and len(status):
        frames.append(budget_alerts(status))
    if anomalies is not None and len(anomalies):
        frames.append(anomaly_alerts(anomalies))
    frames = [f for f in frames if len(f)]
    new = record_alerts(con, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["alert_key"]))
    deliveries = deliver_pending(con, webhook_url, policy)
    return {
        "new_alerts": len(new),
        "delivery_attempts": len(deliveries),
        **{f"deliveries_{k}": int(v) for k, v in deliveries["status"].value_counts().items()},
    }


def refresh_recommendations(con: duckdb.DuckDBPyConnection, config: SignalsConfig | None = None) -> dict:
    cfg = config or SignalsConfig()
    recs = recommendations_from_warehouse(con, cfg.recommendation)
    replace_table(con, "recommendations", recs)
    return {
        "recommendations": len(recs),
        "total_estimated_monthly_saving_usd": _r(recs["estimated_monthly_saving_usd"].sum()) if len(recs) else 0.0,
    }
