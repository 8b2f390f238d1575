"""Signals on the default synthetic dataset, through the real pipeline.

generator (90 days, 300k calls, 20 agents) -> landing -> ingestion ->
dbt seed + run (marts.fct_llm_calls and the signal inputs, marts.rpt_signal_*) ->
every signals table. Checks the
targets the detectors are built for: anomaly precision and F1 >= 0.8 against
the generator's labels, every forecasting method backtested and the total
forecast with the method chosen for it, budgets with mixed states, alerts
raised once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from generators.config import GeneratorConfig
from generators.traces import generate_traces
from orchestration.dbt_invocation import run_dbt
from orchestration.ingest.loader import ingest_window
from orchestration.reference import DEMO_REFERENCE_DIR, budgets_path, install_reference_files
from orchestration.settings import load_settings
from orchestration.signals import pipeline
from orchestration.signals.backtest import median_mape
from orchestration.signals.io import connect, read_table

pytestmark = pytest.mark.slow

START = date(2026, 8, 27)  # 90 days ending 2026-11-24: two full months and two partial ones


@pytest.fixture(scope="module")
def signals_run(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("signals_e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTLEDGER_DATA_DIR", str(work))
        mp.delenv("AGENTLEDGER_WAREHOUSE", raising=False)
        mp.delenv("AGENTLEDGER_ALERT_WEBHOOK_URL", raising=False)
        settings = load_settings()
        labels = settings.ground_truth_dir / "anomalies.csv"
        # The synthetic scopes' budgets (the product ships none).
        install_reference_files(DEMO_REFERENCE_DIR, settings)
        generate_traces(
            GeneratorConfig(start=START, seed=7),
            settings.landing_dir,
            fmt="parquet",
            labels_path=labels,
            progress=False,
        )
        ingest_window(settings)
        run_dbt(["seed"], settings.warehouse_path, work)
        run_dbt(["run", "--select", "+fct_llm_calls", "+path:models/marts/signals"], settings.warehouse_path, work)
        cfg = pipeline.SignalsConfig(backtest_scope_types=("total",))
        cfg = replace(cfg, forecast=replace(cfg.forecast, uncertainty_samples=300))
        results = {}
        with connect(settings.warehouse_path) as con:
            results["backtest"] = pipeline.refresh_backtest(con, cfg)
            results["forecast"] = pipeline.refresh_forecasts(con, cfg)
            results["anomalies"] = pipeline.refresh_anomalies(con, cfg)
            results["quality"] = pipeline.refresh_detection_quality(con, labels)
            results["budgets"] = pipeline.refresh_budget_status(con, budgets_path(settings))
            results["alerts"] = pipeline.refresh_alerts(con, None)
            results["alerts_rerun"] = pipeline.refresh_alerts(con, None)
            results["recommendations"] = pipeline.refresh_recommendations(con, cfg)
            tables = {
                t: read_table(con, t)
                for t in (
                    "cost_forecast",
                    "forecast_backtest",
                    "forecast_model_choice",
                    "cost_anomalies",
                    "anomaly_detection_quality",
                    "budget_status",
                    "alerts",
                    "alert_deliveries",
                    "recommendations",
                )
            }
        yield results, tables


def test_anomaly_detection_meets_target(signals_run):
    results, tables = signals_run
    q = results["quality"]
    assert q["labelled_agent_days"] > 20
    assert q["precision"] >= 0.8 and q["f1"] >= 0.8, q
    kinds = tables["anomaly_detection_quality"]
    assert set(kinds["kind"]) >= {"all", "runaway_loop", "model_switch", "prompt_blowup", "cache_regression"}


def test_backtest_compares_every_method_and_the_forecast_uses_the_choice(signals_run):
    _, tables = signals_run
    bt = tables["forecast_backtest"]
    assert set(bt["method"]) == {
        "prophet",
        "auto_ets",
        "auto_theta",
        "seasonal_naive",
        "linear_trend",
    }  # AutoARIMA opt-in
    assert sorted(bt["train_days"].unique().tolist()) == [34, 41, 48, 55, 62, 69, 76, 83]
    med = median_mape(bt)
    assert all(med[m] < med["linear_trend"] for m in med if m != "linear_trend"), med
    choice = tables["forecast_model_choice"]
    chosen = choice[choice["selected"]]
    assert len(chosen) == 1 and chosen["reason"].iloc[0]
    total = tables["cost_forecast"].query("scope_type == 'total'")
    assert set(total["method"]) == {chosen["method"].iloc[0]}
    assert total["selection_reason"].iloc[0].startswith("chosen by backtest: ")
    assert total["model_version"].iloc[0].endswith("/conformal")


def test_forecast_covers_every_scope_for_30_days(signals_run):
    _, tables = signals_run
    fc = tables["cost_forecast"]
    future = fc[~fc["is_history"]]
    per_scope = future.groupby(["scope_type", "scope_id"]).size()
    assert (per_scope == 30).all()
    assert set(fc["scope_type"]) == {"total", "workspace", "department", "agent"}
    assert fc[fc["scope_type"] == "agent"]["scope_id"].nunique() == 5
    assert (future["yhat_lower_95"] <= future["yhat_upper_95"]).all()


def test_budgets_alerts_and_recommendations(signals_run):
    results, tables = signals_run
    status = tables["budget_status"]
    current = status[status["month"] == status["month"].max()]
    assert {"ok", "breached"} <= set(current["status"]) and len(set(current["status"])) >= 3
    assert results["alerts"]["new_alerts"] > 0 and results["alerts_rerun"]["new_alerts"] == 0
    deliveries = tables["alert_deliveries"]
    assert set(deliveries["status"]) == {"not_configured"} and deliveries["alert_key"].is_unique
    recs = tables["recommendations"]
    assert len(recs) > 0 and recs["rank"].tolist() == list(range(1, len(recs) + 1))
    assert recs["estimated_monthly_saving_usd"].is_monotonic_decreasing


def test_assets_materialize_in_process_and_checks_pass(signals_run):
    """The Dagster assets (minus the two Prophet ones, already built above) on the same warehouse."""
    import dagster as dg

    from orchestration.defs.signals import assets as sa
    from orchestration.resources import WarehouseResource

    selected = [sa.cost_anomalies, sa.anomaly_detection_quality, sa.budget_status, sa.alerts, sa.recommendations]
    result = dg.materialize(
        selected,
        resources={"warehouse": WarehouseResource()},
        selection=[a.key for a in selected],
    )
    assert result.success
    metadata = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert metadata["signals/anomaly_detection_quality"]["f1"].value >= 0.8
    assert metadata["signals/alerts"]["new_alerts"].value == 0  # every alert was already raised by the first run
    checks = dg.materialize(
        [*selected, sa.anomaly_detection_meets_target, sa.budgets_are_valid],
        resources={"warehouse": WarehouseResource()},
        selection=dg.AssetSelection.checks(sa.anomaly_detection_meets_target, sa.budgets_are_valid),
    )
    evaluations = checks.get_asset_check_evaluations()
    assert len(evaluations) == 2 and all(e.passed for e in evaluations)
